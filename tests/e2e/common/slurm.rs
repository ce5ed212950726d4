//! A real local Slurm cluster for the end-to-end tests: a private munged, one slurmctld and two
//! slurmd (`n1`, `n2`, 4 CPUs each, partition `debug` with `OverSubscribe=FORCE:4`) on free
//! loopback ports, all under a scratch directory, and the client calls the tests need (sbatch,
//! then poll squeue every 0.1 s and read `scontrol show job`; sacct has no accounting here).
//!
//! It owns every daemon it starts and nothing else on the machine. munged gets its own key,
//! socket, PID and seed files (`AuthInfo=socket=...` points Slurm at it) rather than the global
//! `/run/munge`, because other sessions on the same machine run Slurm too: sharing their munged
//! would break this cluster when they stop it, and stopping ours would break theirs. Daemons run
//! in the foreground (`-D`, `-F`) as children of the test process, so their PIDs are known
//! without racing on PID files and an early exit (a port taken, a bad config) is seen at once.
//! Drop cancels leftover jobs, then SIGTERMs every daemon and SIGKILLs it after 5 s. Clusters
//! take turns (`serial::slurm_and_mpi`, held until drop): 2 cores are enough for one.
//!
//! A missing binary or a daemon that does not come up panics with the logs' tails: a missing
//! peer fails the test, it never skips it. `srun --mpi=pmix` needs `libpmix-dev` as well as
//! `libpmix2`: Debian's Slurm plugin dlopens `.../pmix2/lib/libpmix.so`, which only the -dev
//! package ships (without it: "pmi/pmix: can not load PMIx library").
//!
//! The first cluster a test process starts checks itself before it is handed out
//! ([`SlurmCluster::self_check`]): one batch job over 2 nodes x 2 tasks runs an `srun` step,
//! an `srun --mpi=pmix` step, OpenMPI's `mpirun` inside the allocation and a step with a failing
//! task, so a broken cluster is reported as a harness problem, with what failed and the logs,
//! before a ringload test fails for a reason of the cluster's.
//!
//! What was found on this machine (Debian 12: Slurm 22.05.8, OpenMPI 4.1.4, PMIx 4.2.2):
//! - `srun --mpi=pmix` needs `libpmix-dev` besides `libpmix2`: the Slurm plugin dlopens
//!   `/usr/lib/x86_64-linux-gnu/pmix2/lib/libpmix.so`, which only the -dev package ships, and
//!   slurmd must be started after it is installed. It then sets `PMIX_RANK` = `SLURM_PROCID`.
//! - `mpirun --allow-run-as-root` inside the allocation needs no other flag (`--oversubscribe`
//!   is harmless: the 2 nodes x 2 tasks give 4 slots). mpirun starts one `orted` per node with
//!   `srun` (a step of its own), then places ranks by slot: ranks 0,1 on n1 and 2,3 on n2.
//! - So each mpirun-launched process sees `OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK`, `PMIX_RANK`
//!   (OpenMPI's own PMIx server, equal to the MPI rank), and the Slurm variables of the orted
//!   step, not of the batch step: `SLURM_PROCID` = `SLURM_NODEID` = the node index (0 or 1),
//!   `SLURM_NTASKS=2` (one orted per node), `SLURM_STEP_ID` of the orted's step, `SLURM_LOCALID=0`.
//!   `SLURM_PROCID` is therefore NOT the rank under mpirun: ranks 0 and 1 both see 0. A
//!   launcher must prefer `OMPI_COMM_WORLD_RANK` (or `PMIX_RANK`) over `SLURM_PROCID`.
//! - `sbatch` exports the whole environment of the test process to the job (`--export=ALL`).

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use super::{free_port, Scratch};

const TICK: Duration = Duration::from_millis(100);

/// How a batch job ended, from `scontrol show job` and its `slurm-<id>.out`.
#[derive(Debug)]
pub struct JobEnd {
    /// `JobState`: "COMPLETED", "FAILED", "CANCELLED", ...
    pub state: String,
    /// `ExitCode`: "0:0" (exit status : signal).
    pub exit_code: String,
    /// The contents of `slurm-<id>.out`.
    pub output: String,
}

/// A private munged, slurmctld and two slurmd, stopped on drop.
pub struct SlurmCluster {
    dir: Scratch,
    conf: PathBuf,
    /// In start order; stopped in reverse.
    daemons: Vec<(String, Child)>,
    _one: MutexGuard<'static, ()>,
}

/// The absolute path of a Slurm/munge binary; panics with the install line when it is missing.
fn bin(name: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not installed: run `apt-get install -y slurmctld slurmd slurm-client \
                 munge openmpi-bin libpmix2 libpmix-dev` (.ci/run does)"
            )
        });
    found
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// (uid, gid) of a local user, from /etc/passwd.
fn user(name: &str) -> (u32, u32) {
    let passwd = fs::read_to_string("/etc/passwd").unwrap();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == name)
        .map(|f| (f[2].parse().unwrap(), f[3].parse().unwrap()))
        .unwrap_or_else(|| panic!("no user `{name}`: is munge installed?"))
}

fn munge_answers(socket: &Path) -> bool {
    let out = Command::new(bin("munge"))
        .arg("-S")
        .arg(socket)
        .arg("-n")
        .output();
    out.is_ok_and(|o| o.status.success())
}

/// The self-check's batch job over 2 nodes x 2 tasks: each step prints `key=value` words with
/// keys of its own; the failing step comes last, so that its failure is the job's.
const SELF_CHECK: &str = "#!/bin/sh\n#SBATCH --nodes=2 --ntasks-per-node=2\n\
    srun sh -c 'echo rank=$SLURM_PROCID of=$SLURM_NTASKS node=$SLURM_NODEID'\n\
    srun --mpi=pmix sh -c 'echo pmix=$PMIX_RANK procid=$SLURM_PROCID'\n\
    mpirun --allow-run-as-root -np 4 --oversubscribe sh -c \
    'echo mpi_rank=$OMPI_COMM_WORLD_RANK mpi_size=$OMPI_COMM_WORLD_SIZE mpi_pmix=$PMIX_RANK \
    mpi_procid=$SLURM_PROCID mpi_node=$SLURM_NODEID'\n\
    srun sh -c 'echo failing=$SLURM_PROCID; [ $SLURM_PROCID != 1 ]'\n";

/// The values of `key=` on the output lines that have it, sorted.
fn values(output: &str, key: &str) -> Vec<String> {
    let mut v: Vec<String> = output
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_owned)
        })
        .collect();
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The value of `key` (as `Key=`) in `scontrol show job` output.
fn field<'a>(show: &'a str, key: &str) -> Option<&'a str> {
    show.split_whitespace().find_map(|w| w.strip_prefix(key))
}

impl SlurmCluster {
    pub fn start() -> SlurmCluster {
        let one = super::serial::slurm_and_mpi();
        for b in
            "munge mungekey munged slurmctld slurmd sbatch squeue scontrol scancel sinfo".split(' ')
        {
            bin(b);
        }
        let dir = Scratch::new("slurm");
        let d = dir.path().to_path_buf();
        for sub in "spool/ctld spool/d-n1 spool/d-n2 tmp-n1 tmp-n2 log".split(' ') {
            fs::create_dir_all(d.join(sub)).unwrap();
        }
        let conf = d.join("slurm.conf");
        let mut c = SlurmCluster {
            conf,
            dir,
            daemons: Vec::new(),
            _one: one,
        };
        c.start_munged();
        let sock = c.munge_socket();
        let sock = sock.display();
        let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        let host = host.trim().split('.').next().unwrap().to_string();
        let (ctld, p1, p2) = (free_port(), free_port(), free_port());
        let d = d.display();
        let node = |n: &str, port: u16| {
            format!("NodeName={n} NodeHostname={host} NodeAddr=127.0.0.1 Port={port} CPUs=4 RealMemory=1000 State=UNKNOWN\n")
        };
        let cfg = format!(
            "ClusterName=local\nSlurmctldHost={host}(127.0.0.1)\nSlurmUser=root\nSlurmdUser=root\n\
             AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket={sock}\nMpiDefault=none\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n\
             JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\n\
             SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\nSchedulerType=sched/backfill\n\
             ReturnToService=2\nSlurmdParameters=config_overrides\nMinJobAge=600\n\
             SlurmctldPort={ctld}\nStateSaveLocation={d}/spool/ctld\nSlurmdSpoolDir={d}/spool/d-%n\n\
             TmpFS={d}/tmp-%n\nSlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd-%n.pid\n{}{}\
             PartitionName=debug Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4\n",
            node("n1", p1),
            node("n2", p2),
        );
        fs::write(&c.conf, cfg).unwrap();
        let conf = c.conf.display().to_string();
        c.spawn(
            "slurmctld",
            Command::new(bin("slurmctld")).args(["-D", "-f", &conf]),
        );
        for n in ["n1", "n2"] {
            let args = ["-D", "-f", &conf, "-N", n];
            c.spawn(
                &format!("slurmd-{n}"),
                Command::new(bin("slurmd")).args(args),
            );
        }
        c.wait_for("sinfo shows n1 and n2 idle", Duration::from_secs(15), |c| {
            let out = c.run("sinfo", &["-h", "-N", "-o", "%N %T"]);
            let mut lines: Vec<_> = text(&out.stdout).lines().map(str::to_owned).collect();
            lines.sort();
            out.status.success() && lines == ["n1 idle", "n2 idle"]
        });
        c.self_check();
        c
    }

    /// Once per test process, on the first cluster that comes up: runs [`SELF_CHECK`] as a
    /// batch job (at most 60 s) and panics, naming the step that failed, unless batch jobs,
    /// `srun`, `srun --mpi=pmix`, `mpirun` inside the allocation and a failing task behave as
    /// the module doc says.
    fn self_check(&self) {
        static PASSED: AtomicBool = AtomicBool::new(false);
        if PASSED.load(Ordering::Relaxed) {
            return;
        }
        let work = self.dir.path().join("self-check");
        fs::create_dir_all(&work).unwrap();
        let script = work.join("job.sh");
        fs::write(&script, SELF_CHECK).unwrap();
        let id = self.sbatch(&script, &work, &[]);
        let end = self.wait(id, Duration::from_secs(60));
        let expect = |ok: bool, what: &str| {
            assert!(
                ok,
                "the local Slurm cluster is broken (a harness problem, not ringload's): {what}\n\
                 {end:?}\n{}",
                self.logs()
            );
        };
        let v = |key| values(&end.output, key);
        let ranks = strs(&["0", "1", "2", "3"]);
        // A batch job over 2 nodes x 2 tasks with an srun step.
        expect(v("rank") == ranks, "srun in a batch job: ranks 0-3");
        expect(v("of") == strs(&["4"; 4]), "srun in a batch job: 4 tasks");
        let by_node = strs(&["0", "0", "1", "1"]);
        expect(
            v("node") == by_node,
            "srun in a batch job: 2 tasks per node",
        );
        // srun --mpi=pmix sets PMIX_RANK = SLURM_PROCID.
        let pmix = "srun --mpi=pmix: PMIX_RANK 0-3 (is libpmix-dev installed?)";
        expect(v("pmix") == ranks, pmix);
        for l in end.output.lines().filter(|l| l.starts_with("pmix=")) {
            let (p, s) = l.split_once(' ').unwrap();
            expect(p["pmix=".len()..] == s["procid=".len()..], pmix);
        }
        // mpirun inside the allocation: MPI ranks, and SLURM_PROCID from the orted step (the
        // node index, shared by two ranks).
        let mpirun = "mpirun inside the allocation";
        expect(v("mpi_rank") == ranks, mpirun);
        expect(v("mpi_size") == strs(&["4"; 4]), mpirun);
        expect(v("mpi_pmix") == ranks, mpirun);
        expect(v("mpi_procid") == by_node, mpirun);
        expect(v("mpi_procid") == v("mpi_node"), mpirun);
        // A failing task fails the step and, as the script's last command, the job.
        let failed = "a failing task fails the job";
        expect(v("failing") == ranks, failed);
        expect(
            end.output.contains("task 1: Exited with exit code 1"),
            failed,
        );
        expect(end.state == "FAILED" && end.exit_code != "0:0", failed);
        PASSED.store(true, Ordering::Relaxed);
    }

    /// A private munged as the `munge` user: its own key, socket, PID and seed files in
    /// `munge/`, so no other process's munged is used, touched or stopped.
    fn start_munged(&mut self) {
        use std::os::unix::fs::{chown, PermissionsExt};
        let (uid, gid) = user("munge");
        let m = self.dir.path().join("munge");
        fs::create_dir_all(&m).unwrap();
        chown(&m, Some(uid), Some(gid)).unwrap(); // munged wants 0755 and its own owner
        let key = m.join("key");
        let mut mk = Command::new(bin("mungekey"));
        let st = mk.arg("--create").arg("--keyfile").arg(&key).status();
        assert!(st.is_ok_and(|s| s.success()), "mungekey --create failed");
        chown(&key, Some(uid), Some(gid)).unwrap();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o400)).unwrap();
        let mut cmd = Command::new(bin("munged"));
        cmd.arg("-F").uid(uid).gid(gid);
        for (opt, file) in [
            ("key-file", "key"),
            ("socket", "socket"),
            ("seed-file", "seed"),
        ] {
            cmd.arg(format!("--{opt}={}", m.join(file).display()));
        }
        cmd.arg(format!("--pid-file={}", m.join("munged.pid").display()));
        cmd.arg(format!("--log-file={}", m.join("munged.log").display()));
        self.spawn("munged", &mut cmd);
        let sock = self.munge_socket();
        self.wait_for("`munge -n` answers", Duration::from_secs(5), |_| {
            munge_answers(&sock)
        });
    }

    fn munge_socket(&self) -> PathBuf {
        self.dir.path().join("munge/socket")
    }

    /// Spawns a foreground daemon logging (stdout and stderr) to `log/<name>.log`.
    fn spawn(&mut self, name: &str, cmd: &mut Command) {
        let log = fs::File::create(self.dir.path().join(format!("log/{name}.log"))).unwrap();
        let cmd = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.daemons.push((name.to_string(), child));
    }

    /// Polls `ok` every 0.1 s for at most `max`; panics with the logs' tails when a daemon exits
    /// or time runs out.
    fn wait_for(&mut self, what: &str, max: Duration, ok: impl Fn(&Self) -> bool) {
        let t = Instant::now();
        while !ok(self) {
            for (name, child) in &mut self.daemons {
                if let Ok(Some(st)) = child.try_wait() {
                    let name = name.clone();
                    panic!("{name} exited ({st}) before {what}\n{}", self.logs());
                }
            }
            if t.elapsed() > max {
                panic!("no {what} after {max:?}\n{}", self.logs());
            }
            std::thread::sleep(TICK);
        }
    }

    /// The last 20 lines of every log in the scratch dir, for panic messages.
    pub fn logs(&self) -> String {
        let mut files: Vec<_> = fs::read_dir(self.dir.path().join("log"))
            .map(|r| r.filter_map(|e| Some(e.ok()?.path())).collect())
            .unwrap_or_default();
        files.sort();
        let mut s = String::new();
        for f in files {
            let body = fs::read_to_string(&f).unwrap_or_default();
            let lines: Vec<_> = body.lines().collect();
            let tail = lines[lines.len().saturating_sub(20)..].join("\n");
            s += &format!("--- tail of {} ---\n{tail}\n", f.display());
        }
        s
    }

    /// The environment to run Slurm clients with.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("SLURM_CONF".into(), self.conf.display().to_string())]
    }

    /// A Slurm client command with SLURM_CONF set and no stdin.
    pub fn client(&self, name: &str) -> Command {
        let mut c = Command::new(bin(name));
        c.envs(self.env()).stdin(Stdio::null());
        c
    }

    /// Runs a Slurm client to completion.
    pub fn run(&self, name: &str, args: &[&str]) -> Output {
        let out = self.client(name).args(args).output();
        out.unwrap_or_else(|e| panic!("cannot run {name}: {e}"))
    }

    /// Submits `script`, running in `workdir` with its output in `workdir/slurm-<id>.out`, with
    /// `env` added to this process's environment (sbatch exports it all); returns the job id.
    pub fn sbatch(&self, script: &Path, workdir: &Path, env: &[(&str, &str)]) -> u64 {
        let out = self
            .client("sbatch")
            .args(["--parsable", "--chdir"])
            .arg(workdir)
            .arg("--output")
            .arg(workdir.join("slurm-%j.out"))
            .arg(script)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let id = text(&out.stdout);
        let parsed = id.trim().split(';').next().and_then(|s| s.parse().ok());
        parsed.unwrap_or_else(|| {
            let (s, e, logs) = (script.display(), text(&out.stderr), self.logs());
            panic!("sbatch {s} failed ({}): {id}{e}\n{logs}", out.status)
        })
    }

    /// Polls squeue every 0.1 s until `job` leaves the queue (at most `max`: then it cancels
    /// the job and panics), then reads its state and exit code from `scontrol show job`.
    pub fn wait(&self, job: u64, max: Duration) -> JobEnd {
        let id = job.to_string();
        let t = Instant::now();
        let show = || text(&self.run("scontrol", &["show", "job", &id]).stdout);
        let output = |show: &str| fs::read_to_string(field(show, "StdOut=").unwrap_or("-"));
        loop {
            let q = self.run("squeue", &["-h", "-j", &id]);
            if !q.status.success() || q.stdout.iter().all(u8::is_ascii_whitespace) {
                break;
            }
            if t.elapsed() > max {
                let out = output(&show()).unwrap_or_default();
                self.run("scancel", &[&id]);
                let (q, logs) = (text(&q.stdout), self.logs());
                panic!("job {job} still queued after {max:?}: {q}--- output ---\n{out}\n{logs}");
            }
            std::thread::sleep(TICK);
        }
        let show = show();
        let get = |k| match field(&show, k) {
            Some(v) => v.to_string(),
            None => panic!(
                "no {k} in `scontrol show job {id}`: {show}\n{}",
                self.logs()
            ),
        };
        let (state, exit_code) = (get("JobState="), get("ExitCode="));
        JobEnd {
            state,
            exit_code,
            output: output(&show).unwrap_or_default(),
        }
    }
}

impl Drop for SlurmCluster {
    fn drop(&mut self) {
        // Cancel what is still queued first, so that no slurmstepd outlives its slurmd.
        let queued = |c: &Self| {
            let q = c.client("squeue").arg("-h").output();
            q.is_ok_and(|q| q.status.success() && !q.stdout.is_empty())
        };
        if queued(self) {
            self.run("scancel", &["--partition", "debug"]);
            let t = Instant::now();
            while queued(self) && t.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(TICK);
            }
        }
        for (_, child) in self.daemons.iter_mut().rev() {
            // SAFETY: kill takes no pointers; the daemon was spawned by this cluster and is not
            // reaped yet, so its pid cannot have been reused by another process.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let t = Instant::now();
            while matches!(child.try_wait(), Ok(None)) && t.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
