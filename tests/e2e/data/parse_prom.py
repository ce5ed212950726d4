#!/usr/bin/env python3
"""Parses a Prometheus text exposition with the official Python client's parser
(prometheus_client.parser.text_string_to_metric_families), so a test can check that
ringload's /metrics satisfies it. Any parse error raises, and the script exits non-zero.

Reads the exposition on stdin; prints one JSON object: {"families": {name: type},
"samples": [[name, {label: value}, value], ...]}.

usage: parse_prom.py < metrics.txt
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    families, samples = {}, []
    for fam in text_string_to_metric_families(text):
        families[fam.name] = fam.type
        for s in fam.samples:
            samples.append([s.name, dict(s.labels), s.value])
    json.dump({"families": families, "samples": samples}, sys.stdout)


if __name__ == "__main__":
    main()
