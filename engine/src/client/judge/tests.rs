use super::*;

fn quiet() -> Measured {
    Measured {
        busy: vec![0.12, 0.08],
        wait: vec![0.01, 0.0],
        window: Window::Steady,
        retransmit_pct: Some(0.0),
        nic: None,
    }
}

#[test]
fn a_quiet_rank_is_not_client_bound() {
    let c = judge(&quiet());
    assert!(!c.client_bound);
    assert!(c.reasons.is_empty());
    assert_eq!(c.cpu_per_core, [0.12, 0.08]);
    assert_eq!(c.sched_wait_per_core, [0.01, 0.0]);
    assert_eq!(c.nic_utilization, None);
    assert!(warnings(&c).is_empty());
    // Just below every limit is still not bound.
    let near = Measured {
        busy: vec![0.894, 0.65],
        wait: vec![0.0, 0.249],
        window: Window::Steady,
        retransmit_pct: Some(1.0),
        nic: Some(NicUse {
            name: "eth0".into(),
            speed_mbps: 10_000,
            utilization: 0.899,
        }),
    };
    let c = judge(&near);
    assert!(!c.client_bound, "{:?}", c.reasons);
    assert_eq!(c.nic_utilization, Some(0.899));
    assert!(
        warnings(&c).is_empty(),
        "1% retransmits is not above the limit"
    );
}

#[test]
fn a_busy_core_a_waiting_core_and_a_full_nic_are_each_a_reason() {
    let m = Measured {
        busy: vec![0.31, 0.976],
        wait: vec![0.41, 0.02],
        window: Window::Steady,
        retransmit_pct: Some(0.004),
        nic: Some(NicUse {
            name: "eth0".into(),
            speed_mbps: 10_000,
            utilization: 0.93,
        }),
    };
    let c = judge(&m);
    assert!(c.client_bound);
    assert_eq!(
        c.reasons,
        [
            "core 1 busy 98% of the steady window",
            "core 0 waited for a CPU 41% of the steady window",
            "NIC eth0 at 93% of its 10 Gb/s link",
        ]
    );
    assert_eq!(
        warnings(&c),
        [
            "client-bound: core 1 busy 98% of the steady window; core 0 waited for a CPU 41% of \
          the steady window; NIC eth0 at 93% of its 10 Gb/s link; this rank measured its own \
          limits, not the storage's: add cores or ranks, or lower --numworkers"
        ]
    );
}

#[test]
fn retransmits_warn_about_the_network_without_binding_the_client() {
    let m = Measured {
        window: Window::Steady,
        retransmit_pct: Some(2.314),
        ..quiet()
    };
    let c = judge(&m);
    assert!(!c.client_bound);
    assert_eq!(
        warnings(&c),
        [
            "retransmits: 2.31% of the TCP segments sent during the steady window were \
          retransmitted (host-wide): the network lost packets, so latencies include \
          retransmission timeouts"
        ]
    );
}

#[test]
fn link_speeds_and_percents_read_as_people_say_them() {
    assert_eq!(link_speed(10_000), "10 Gb/s");
    assert_eq!(link_speed(2_500), "2.5 Gb/s");
    assert_eq!(link_speed(100), "100 Mb/s");
    assert_eq!(pct(0.976), 98);
    assert_eq!(pct(0.0), 0);
    assert_eq!(pct(-0.01), 0);
}

#[test]
fn a_core_runnable_most_of_the_window_is_a_reason_with_both_parts() {
    // Neither part reaches its own limit, the sum does.
    let m = Measured {
        busy: vec![0.70, 0.70, 0.95],
        wait: vec![0.22, 0.19, 0.04],
        window: Window::Steady,
        retransmit_pct: None,
        nic: None,
    };
    let c = judge(&m);
    assert!(c.client_bound);
    assert_eq!(
        c.reasons,
        [
            "core 2 busy 95% of the steady window",
            "core 0 runnable 92% of the steady window (busy 70%, waiting for a CPU 22%)",
        ]
    );
    // With a long wait, the one sentence names both parts instead of the wait alone.
    let m = Measured {
        busy: vec![0.48],
        wait: vec![0.48],
        window: Window::Steady,
        retransmit_pct: None,
        nic: None,
    };
    assert_eq!(
        judge(&m).reasons,
        ["core 0 runnable 96% of the steady window (busy 48%, waiting for a CPU 48%)"]
    );
    // Without scheduler statistics there is no wait, and no runnable rule.
    let m = Measured {
        busy: vec![0.89],
        wait: vec![],
        window: Window::Steady,
        retransmit_pct: None,
        nic: None,
    };
    assert!(!judge(&m).client_bound);
}

#[test]
fn a_step_window_is_named_in_the_reasons() {
    let m = Measured {
        busy: vec![0.97],
        wait: vec![0.01],
        window: Window::Step(3),
        retransmit_pct: None,
        nic: Some(NicUse {
            name: "eth0".into(),
            speed_mbps: 100,
            utilization: 0.95,
        }),
    };
    assert_eq!(
        judge(&m).reasons,
        [
            "core 0 busy 97% of step 3",
            "NIC eth0 at 95% of its 100 Mb/s link"
        ]
    );
    let m = Measured {
        busy: vec![0.6],
        wait: vec![0.35],
        window: Window::Step(1),
        retransmit_pct: None,
        nic: None,
    };
    assert_eq!(
        judge(&m).reasons,
        ["core 0 runnable 95% of step 1 (busy 60%, waiting for a CPU 35%)"]
    );
    assert_eq!(Window::Steady.to_string(), "the steady window");
}
