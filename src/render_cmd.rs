//! `ringload render`: check a spec, render the chosen platforms' job files into a directory,
//! and say how to submit them ([`render::submit_hint`]). Every error (a bad spec, an existing run, bad usage, a file
//! that cannot be written) is a usage error.

use std::path::PathBuf;

use ringload_launcher::render::{self, Platform};

use crate::cli::{PlatformArg, RenderArgs};
use crate::exit::CmdError;
use crate::spec_args;

pub fn render(a: RenderArgs) -> Result<(), CmdError> {
    let l = spec_args::load(&a.spec).map_err(CmdError::usage)?;
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
        return Err(CmdError::usage(format!(
            "{}: the spec has no [kubernetes], [slurm] or [mpi] section, so there is nothing \
             to render\n  hint: add one, or pass --platform k8s|slurm|mpi",
            a.spec.display()
        )));
    }
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("ringload-{}", s.run.id)));
    let mut files = Vec::new();
    for p in &platforms {
        let r = render::render(&l, *p, a.templates.as_deref()).map_err(CmdError::usage)?;
        files.extend(r.into_iter().map(|f| (*p, f)));
    }
    if let Err(e) = std::fs::create_dir_all(&out) {
        return Err(CmdError::usage(format!(
            "cannot create {}: {e}",
            out.display()
        )));
    }
    for (_, f) in &files {
        let path = out.join(&f.file);
        if let Err(e) = std::fs::write(&path, &f.text) {
            return Err(CmdError::usage(format!(
                "cannot write {}: {e}",
                path.display()
            )));
        }
        if f.file.ends_with(".sh") || f.file.ends_with(".sbatch") {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
        }
        println!("{}", path.display());
    }
    for p in &platforms {
        let next = render::submit_hint(&l, *p, &out);
        eprintln!("{}: {next}", p.name());
    }
    Ok(())
}
