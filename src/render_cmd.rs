//! `ringload render`: check a spec, render the chosen platforms' job files into a directory,
//! and say how to submit them. Exit 0 rendered; 2 a bad spec, an existing run, or bad usage.

use std::path::PathBuf;

use ringload_launcher::render::{self, Platform};

use crate::cli::{PlatformArg, RenderArgs};
use crate::spec_args;

const EXIT_USAGE: i32 = 2;

pub fn render(a: RenderArgs) -> i32 {
    let l = match spec_args::load(&a.spec) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let s = &l.spec;
    let platforms: Vec<Platform> = if a.platform.is_empty() {
        let mut v = Vec::new();
        if s.kubernetes.is_some() {
            v.push(Platform::Kubernetes);
        }
        if s.slurm.is_some() {
            v.push(Platform::Slurm);
        }
        if s.mpi.is_some() {
            v.push(Platform::Mpi);
        }
        v
    } else {
        a.platform
            .iter()
            .map(|p| match p {
                PlatformArg::K8s => Platform::Kubernetes,
                PlatformArg::Slurm => Platform::Slurm,
                PlatformArg::Mpi => Platform::Mpi,
            })
            .collect()
    };
    if platforms.is_empty() {
        eprintln!(
            "error: {}: the spec has no [kubernetes], [slurm] or [mpi] section, so there is \
             nothing to render\n  hint: add one, or pass --platform k8s|slurm|mpi",
            a.spec.display()
        );
        return EXIT_USAGE;
    }
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("ringload-{}", s.run.id)));
    let mut files = Vec::new();
    for p in &platforms {
        match render::render(&l, *p, a.templates.as_deref()) {
            Ok(r) => files.extend(r.into_iter().map(|f| (*p, f))),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_USAGE;
            }
        }
    }
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("error: cannot create {}: {e}", out.display());
        return EXIT_USAGE;
    }
    for (_, f) in &files {
        let path = out.join(&f.file);
        if let Err(e) = std::fs::write(&path, &f.text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return EXIT_USAGE;
        }
        if f.file.ends_with(".sh") || f.file.ends_with(".sbatch") {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
        }
        println!("{}", path.display());
    }
    for p in &platforms {
        let next = match p {
            Platform::Kubernetes => {
                let k = s.kubernetes.as_ref().expect("checked by render");
                format!(
                    "kubectl apply -f {0}   # then: kubectl -n {1} wait --for=condition=complete \
                     job/{2} --timeout=24h; the report is in {3}/ on the results volume",
                    out.display(),
                    k.namespace,
                    render::context::job_name(&s.run.id),
                    s.run.id
                )
            }
            Platform::Slurm => format!("sbatch {}", out.join("run.sbatch").display()),
            Platform::Mpi => format!("bash {}", out.join("run-mpi.sh").display()),
        };
        eprintln!("{}: {next}", p.name());
    }
    0
}
