//! What the rules produce: the [`Plan`] (the `ringload run` command line and everything the
//! front end prints around it) and its [`RuntimeConfig`] (what `Runtime configuration:`
//! shows). Kept apart from the rules themselves so the front end's inputs read in one place.

use super::ArchShown;

/// What `Runtime configuration:` shows (aisloader's essential parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// The proxy URL; empty in S3 mode.
    pub proxy: String,
    /// The bucket as `provider://name`.
    pub bucket: String,
    /// The run time in ns; `None` = unlimited (`-`).
    pub duration_ns: Option<u64>,
    pub workers: i64,
    pub stats_interval_s: u64,
    pub pctput: i64,
    pub pctupdate: i64,
    pub minsize: u64,
    pub maxsize: u64,
    pub put_upper_bound: u64,
    pub epochs: u64,
    pub perm_shuffle_max: u64,
    pub reader_type: String,
    pub cleanup: bool,
    /// An ais:// bucket (destroyed by cleanup) rather than a remote one (emptied).
    pub ais_bucket: bool,
    /// A random bucket made up here: created, so nothing is listed.
    pub new_bucket: bool,
    /// `-skiplist`: nothing is listed.
    pub skiplist: bool,
    /// The legacy `-uniquegets=false`: GETs pick names at random, with repeats.
    pub random_gets: bool,
    /// `-pctmultipart` (shown even without `-multipart-chunks`, as aisloader does).
    pub multipart_pct: i64,
    /// `-get-batchsize`; also checked against the listed names before the load.
    pub get_batch_size: i64,
    /// The shards PUT (`-arch.pct` given).
    pub arch: Option<ArchShown>,
}

/// The `ringload run` command line and everything the front end prints around it.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Arguments after `ringload run`.
    pub run: Vec<String>,
    /// Printed on stdout before the argument dump (`Duration not specified ...`).
    pub preface: String,
    /// One line each on stderr.
    pub warnings: Vec<String>,
    /// A random bucket's name, announced as `New bucket name "..."`.
    pub new_bucket: Option<String>,
    /// `AWS_PROFILE` to set for the run (`-s3profile`).
    pub aws_profile: Option<String>,
    pub config: RuntimeConfig,
    pub quiet: bool,
    pub dry_run: bool,
    pub getloaderid: bool,
    pub json: bool,
    pub stats_output: Option<String>,
    /// `-statsinterval` > 0.
    pub periodic: bool,
    /// `-duration 0` with nothing else to stop the run: no load; only the cleanup, if asked.
    pub noop: bool,
    /// The values aisloader's argument dump shows where they differ from the typed ones (its
    /// `initParams` changed them): `(flag, value)`.
    pub dump: Vec<(&'static str, String)>,
    /// `-seed` as given (0: the front end picks one, as aisloader does).
    pub seed: u64,
    /// `-maxputs` below `-numworkers` in a 100% PUT run: aisloader stops in its first posts
    /// and exits 1 with this error after the final statistics.
    pub maxputs_error: Option<String>,
}
