//! Passwords: argon2id hashing off the async runtime, and the policy
//! (NIST 800-63B style: length, not the email, not a common password, not one
//! of the last three).

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use argon2_memory::Memory;
use kaltura_api::codes;
use rand::rngs::OsRng;
use tokio::sync::oneshot;

use crate::error::{ApiError, ApiResult};

/// Fewest characters a password may have.
pub const MIN_LEN: usize = 8;
/// Most characters a password may have (long passphrases are welcome; the
/// cap only bounds hashing work).
pub const MAX_LEN: usize = 256;
/// How many previous passwords may not be reused (the current one included).
pub const HISTORY: i64 = 3;

/// The policy in words, sent as `args.RULES` of `PASSWORD_STRUCTURE_INVALID`.
pub const RULES: &str = "Use at least 8 characters (long passphrases are welcome, up to 256); \
it must not be your email address, a commonly used password, or one of your last 3 passwords.";

const COMMON: &str = include_str!("common-passwords.txt");

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy)]
pub struct HashCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl HashCost {
    /// OWASP's recommended minimum for argon2id: 19 MiB, t=2, p=1.
    pub const OWASP: Self = Self {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
    /// A cheap cost for tests only, so suites stay fast.
    pub const TEST: Self = Self {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
}

/// Hashes and verifies passwords on a fixed set of threads, one per CPU,
/// each with its own working memory, so a burst of logins queues instead of
/// stalling the async runtime or allocating 19 MiB per waiting request. The
/// queue is bounded too: a request that would wait behind more than
/// `max_queue` others is refused at once ([`Hasher::admit`]), so a flood
/// gets fast "busy" answers instead of an ever longer wait for everyone.
#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    /// The hashing threads' queue; they stop when every clone is dropped.
    jobs: mpsc::Sender<Job>,
    /// Requests admitted and not yet done (hashing or waiting to).
    admitted: Arc<AtomicUsize>,
    /// Most requests admitted at once: the threads plus the queue.
    max_admitted: usize,
    /// A real hash of a random password, verified for unknown logins so they
    /// take as long as known ones.
    dummy: Arc<str>,
    /// `kmc_hash_queue_wait_seconds`: how long each hash waited for a thread.
    wait: ::metrics::Histogram,
}

/// One hash to compute, with the working memory of the thread that takes it:
/// owned by that thread and reused for each of its hashes, in huge pages
/// where the kernel has them (see `argon2_memory`). Allocating it per hash
/// let glibc keep the freed blocks in per-thread arenas: a flood of sign-ins
/// took the server from 29 to 560 MiB. One memory per thread exists.
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// Hashes `password` with `argon` into a PHC string, in reused memory.
fn hash_in(memory: &mut Memory, argon: &Argon2<'_>, password: &[u8]) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| anyhow::anyhow!("argon2 salt: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon
        .hash_password_into_with_memory(
            password,
            salt_bytes,
            &mut out,
            memory.blocks(argon.params().block_count()),
        )
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params())
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// Checks `password` against a PHC string with the parameters it names, in
/// reused memory; the comparison is constant-time (`Output`'s `==`).
fn verify_in(memory: &mut Memory, stored: &str, password: &[u8]) -> bool {
    let mut check = || -> Option<bool> {
        let parsed = PasswordHash::new(stored).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = parsed
            .version
            .map(Version::try_from)
            .transpose()
            .ok()?
            .unwrap_or_default();
        let params = Params::try_from(&parsed).ok()?;
        let expected = parsed.hash?;
        let mut salt_buf = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt_buf).ok()?;
        let argon = Argon2::new(algorithm, version, params);
        let mut out = vec![0u8; expected.len()];
        argon
            .hash_password_into_with_memory(
                password,
                salt,
                &mut out,
                memory.blocks(argon.params().block_count()),
            )
            .ok()?;
        Some(Output::new(&out).ok()? == expected)
    };
    check().unwrap_or(false)
}

impl Hasher {
    /// A hasher with the given cost, one thread per CPU and the default
    /// queue.
    pub fn new(cost: HashCost) -> anyhow::Result<Self> {
        Self::with_queue(cost, DEFAULT_MAX_QUEUE)
    }

    /// A hasher whose queue holds at most `max_queue` waiting requests.
    ///
    /// Exactly one thread per CPU, each taking the next hash from the queue
    /// itself. Measured under the login bench on 2 cores: with hashes
    /// started from the runtime on `spawn_blocking` behind a semaphore, one
    /// slot per CPU left a core idle between the end of one hash and the
    /// start of the next (0.8 ms per sign-in), and one slot more had three
    /// 19 MiB hashes share two cores, which made each cost 21.9 ms of CPU
    /// instead of 18.1.
    pub fn with_queue(cost: HashCost, max_queue: usize) -> anyhow::Result<Self> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let (warmed, warm_ups) = mpsc::channel();
        for _ in 0..threads {
            let queue = queue.clone();
            let (argon, warmed) = (argon.clone(), warmed.clone());
            std::thread::Builder::new()
                .name("kmc-argon2".into())
                .spawn(move || {
                    let mut memory = Memory::new();
                    // A first hash of a random password maps and faults in this
                    // thread's memory before any request waits on it (in huge
                    // pages the kernel may first compact memory: 72 and 120 ms
                    // once each, seen here). One of them is the dummy.
                    let warm_up =
                        hash_in(&mut memory, &argon, crate::auth::random_token().as_bytes());
                    let _ = warmed.send(warm_up);
                    drop(warmed);
                    loop {
                        // One thread waits in `recv` holding the lock, the
                        // others for the lock; the guard ends with the line.
                        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok(job) = next else { return };
                        // A panic drops the job's reply (its caller gets an
                        // error), not the thread.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
                    }
                })?;
        }
        drop(warmed);
        let mut dummy = None;
        for warm_up in warm_ups {
            dummy.get_or_insert(warm_up?);
        }
        let dummy = dummy.ok_or_else(|| anyhow::anyhow!("no hashing thread started"))?;
        Ok(Self {
            argon,
            jobs,
            admitted: Arc::new(AtomicUsize::new(0)),
            max_admitted: threads + max_queue,
            dummy: dummy.into(),
            wait: ::metrics::histogram!("kmc_hash_queue_wait_seconds"),
        })
    }

    /// Runs `f` on a hashing thread, after the hashes queued before it. A
    /// request dropped while waiting (its client gone) costs no hash.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (reply, answer) = oneshot::channel();
        let (wait, queued) = (self.wait.clone(), std::time::Instant::now());
        self.jobs
            .send(Box::new(move |memory: &mut Memory| {
                wait.record(queued.elapsed());
                if !reply.is_closed() {
                    let _ = reply.send(f(memory));
                }
            }))
            .map_err(|_| anyhow::anyhow!("the hashing threads have stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("a hashing thread failed"))
    }

    /// Admits one request that will hash, or `RESOURCE_IS_RESERVED` when
    /// the hashing threads are busy and the queue behind them is full. Hold
    /// the admission until the hashing is done.
    pub fn admit(&self) -> ApiResult<Admission> {
        let before = self.admitted.fetch_add(1, Ordering::AcqRel);
        let admission = Admission(self.admitted.clone());
        if before >= self.max_admitted {
            return Err(ApiError::new(
                codes::RESOURCE_IS_RESERVED,
                "The server is busy checking passwords: try again in a moment",
            ));
        }
        Ok(admission)
    }

    /// Requests holding an admission now (hashing, queued, or between the
    /// two, such as a sign-in reserving its check).
    pub fn admitted(&self) -> usize {
        self.admitted.load(Ordering::Acquire)
    }

    /// Hashes a password into a PHC string (`$argon2id$…`).
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let argon = self.argon.clone();
        let password = password.to_owned();
        self.run(move |memory| hash_in(memory, &argon, password.as_bytes()))
            .await?
    }

    /// Checks a password against a stored hash; `None` (no password set or
    /// unknown login) still spends the same time on a dummy hash.
    pub async fn verify(&self, stored: Option<&str>, password: &str) -> anyhow::Result<bool> {
        let known = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy).to_owned();
        let password = password.to_owned();
        let ok = self
            .run(move |memory| verify_in(memory, &stored, password.as_bytes()))
            .await?;
        Ok(known && ok)
    }

    /// True when `password` matches any of `hashes` (the password history).
    pub async fn matches_any(&self, hashes: &[String], password: &str) -> anyhow::Result<bool> {
        for h in hashes {
            if self.verify(Some(h), password).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Requests that may wait for a hashing thread by default: at about 100
/// hashes/s on 2 cores, the last of them waits under a second.
pub const DEFAULT_MAX_QUEUE: usize = 64;

/// A request admitted to hash (see [`Hasher::admit`]); dropping it frees
/// its place.
pub struct Admission(Arc<AtomicUsize>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// True when the password is on the bundled list of common passwords.
pub fn is_common(password: &str) -> bool {
    let lower = password.trim().to_lowercase();
    COMMON
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l.trim().to_lowercase() == lower)
}

/// The policy checks that need no stored data: length, not the email, not
/// common. The history check needs the login's hashes ([`Hasher::matches_any`]).
pub fn check_policy(password: &str, email: &str) -> ApiResult<()> {
    let len = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(structure_invalid());
    }
    let email = email.trim().to_lowercase();
    let lower = password.trim().to_lowercase();
    if lower == email || (!email.is_empty() && email.split('@').next() == Some(lower.as_str())) {
        return Err(structure_invalid());
    }
    if is_common(password) {
        return Err(ApiError::new(
            codes::COMMON_PASSWORD,
            "This password is too common; choose another one",
        ));
    }
    Ok(())
}

/// `PASSWORD_STRUCTURE_INVALID` with the rules in words.
pub fn structure_invalid() -> ApiError {
    ApiError::new(
        codes::PASSWORD_STRUCTURE_INVALID,
        "The password does not follow the password rules",
    )
    .with_arg("RULES", RULES)
}

/// `PASSWORD_ALREADY_USED`.
pub fn already_used() -> ApiError {
    ApiError::new(
        codes::PASSWORD_ALREADY_USED,
        "This password was used recently; choose another one",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_short_passwords_with_the_rules_in_words() {
        let e = check_policy("short1!", "a@b.c").unwrap_err().to_body();
        assert_eq!(e.code, codes::PASSWORD_STRUCTURE_INVALID);
        assert!(e.arg("RULES").unwrap().contains("at least 8"));
    }

    #[test]
    fn policy_accepts_a_long_passphrase_and_refuses_an_overlong_one() {
        check_policy("correct horse battery staple on a long walk", "a@b.c").unwrap();
        assert!(check_policy(&"x".repeat(MAX_LEN + 1), "a@b.c").is_err());
    }

    #[test]
    fn policy_refuses_the_email_itself_in_any_case() {
        assert_eq!(
            check_policy("Ada.Lovelace@Example.com", "ada.lovelace@example.com")
                .unwrap_err()
                .code(),
            codes::PASSWORD_STRUCTURE_INVALID
        );
    }

    #[test]
    fn policy_refuses_common_passwords_case_insensitively() {
        assert_eq!(
            check_policy("Password123", "a@b.c").unwrap_err().code(),
            codes::COMMON_PASSWORD
        );
        assert!(is_common("qwertyuiop"));
        assert!(!is_common(
            "# Common passwords refused by the password policy"
        ));
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify_only_the_right_password() {
        let h = Hasher::new(HashCost::TEST).unwrap();
        let stored = h.hash("a good passphrase").await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(h.verify(Some(&stored), "a good passphrase").await.unwrap());
        assert!(!h.verify(Some(&stored), "a bad passphrase").await.unwrap());
        assert!(!h.verify(None, "a good passphrase").await.unwrap());
    }

    #[tokio::test]
    async fn hashes_in_reused_memory_are_standard_phc_strings_both_ways() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let h = Hasher::new(HashCost::TEST).unwrap();
        // Ours verifies with the argon2 crate's own verifier…
        let ours = h.hash("a good passphrase").await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"a good passphrase", &parsed)
                .is_ok()
        );
        // …and a hash made by the crate (another cost) verifies with ours.
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(256, 3, 1, None).unwrap(),
        )
        .hash_password(b"another passphrase", &salt)
        .unwrap()
        .to_string();
        assert!(h.verify(Some(&theirs), "another passphrase").await.unwrap());
        assert!(!h.verify(Some(&theirs), "a good passphrase").await.unwrap());
        assert!(!h.verify(Some("$argon2id$garbage"), "x").await.unwrap());
    }

    #[tokio::test]
    async fn every_thread_hashes_at_once_and_a_request_dropped_while_queued_is_skipped() {
        use std::sync::Barrier;
        use std::sync::atomic::AtomicBool;
        use std::time::Duration;
        let h = Hasher::new(HashCost::TEST).unwrap();
        let threads = std::thread::available_parallelism().unwrap().get();
        // One job per thread, each waiting at a barrier the test passes last:
        // it opens only when every thread holds a job at the same time.
        let gate = Arc::new(Barrier::new(threads + 1));
        let held: Vec<_> = (0..threads)
            .map(|_| {
                let (h, gate) = (h.clone(), gate.clone());
                tokio::spawn(async move { h.run(move |_| gate.wait()).await })
            })
            .collect();
        tokio::task::yield_now().await;
        // Queued behind them, then dropped, as when a client goes away.
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let queued = h.run(move |_| flag.store(true, Ordering::SeqCst));
        assert!(
            tokio::time::timeout(Duration::from_millis(100), queued)
                .await
                .is_err()
        );
        let opened = tokio::task::spawn_blocking(move || gate.wait());
        tokio::time::timeout(Duration::from_secs(10), opened)
            .await
            .expect("every hashing thread took a job at once")
            .unwrap();
        for job in held {
            job.await.unwrap().unwrap();
        }
        // A job queued after the dropped one has run, so that one was taken.
        let stored = h.hash("a good passphrase").await.unwrap();
        assert!(h.verify(Some(&stored), "a good passphrase").await.unwrap());
        assert!(
            !ran.load(Ordering::SeqCst),
            "the dropped request was hashed"
        );
    }

    /// The tests' cheap cost keeps argon2's memory on the heap; 4 MiB puts it
    /// in the huge-page mapping production uses. Forty verifications at once
    /// keep every hashing thread busy in its own mapped memory: each must get
    /// its own answer, right or wrong, whatever ran in that memory before.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn forty_parallel_verifications_in_mapped_memory_each_get_their_own_answer() {
        let cost = HashCost {
            memory_kib: 4096,
            iterations: 1,
            parallelism: 1,
        };
        let h = Hasher::new(cost).unwrap();
        let (a, b) = (
            h.hash("first passphrase").await.unwrap(),
            h.hash("second passphrase").await.unwrap(),
        );
        let checks: Vec<_> = (0..40)
            .map(|i| {
                let (h, stored) = (h.clone(), if i % 2 == 0 { a.clone() } else { b.clone() });
                let (guess, right) = match i % 4 {
                    0 => ("first passphrase", true),
                    1 => ("second passphrase", true),
                    2 => ("second passphrase", false),
                    _ => ("first passphrase", false),
                };
                tokio::spawn(async move { (h.verify(Some(&stored), guess).await.unwrap(), right) })
            })
            .collect();
        for check in checks {
            let (verified, right) = check.await.unwrap();
            assert_eq!(verified, right);
        }
    }

    #[test]
    fn the_production_cost_is_at_least_owasps() {
        let c = HashCost::OWASP;
        assert!(c.memory_kib >= 19 * 1024 && c.iterations >= 2 && c.parallelism >= 1);
    }
}
