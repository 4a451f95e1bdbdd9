//! Where the CPU goes during a load level: per-thread CPU time read from `/proc`, before and
//! after, grouped by what the threads do, divided by the sign-ins done.
//!
//! kmc-server's threads: argon2 runs on its own `kmc-argon2` threads (one per core); tokio's
//! async workers and its blocking pool share the name `tokio-rt-worker` (the blocking pool does
//! nothing of note under the login load); SQLite runs on sqlx's `sqlx-sqlite-worker` threads. The load generator is this process. "Other" is every other
//! process on the machine (from `/proc/stat`), "idle" what no one used.

use std::collections::BTreeMap;

/// CPU seconds by group at one instant, and the machine's busy and total time.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// (group, user or system) → seconds.
    groups: BTreeMap<(&'static str, &'static str), f64>,
    machine_busy: f64,
    machine_total: f64,
}

/// The server's thread groups, the load generator, other processes and idle.
pub const GROUPS: [&str; 5] = [
    "argon2 (kmc-argon2 threads)",
    "async workers (HTTP, JSON, KS, logic)",
    "SQLite workers",
    "other server threads",
    "load generator (bench)",
];

fn ticks_per_second() -> f64 {
    // USER_HZ is 100 on every Linux the project runs on (and `getconf CLK_TCK` says so).
    100.0
}

/// CPU seconds (user + system) the calling thread has used so far.
pub fn this_thread() -> f64 {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|l| parse_stat(&l))
        .map_or(0.0, |(_, u, s)| u + s)
}

/// utime and stime (seconds) and the name of one `/proc/.../stat` line.
fn parse_stat(line: &str) -> Option<(String, f64, f64)> {
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    let name = line[open + 1..close].to_string();
    let fields: Vec<&str> = line[close + 1..].split_whitespace().collect();
    // After the name: state is field 3 of the line, utime 14 and stime 15 (1-based).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((name, utime / ticks_per_second(), stime / ticks_per_second()))
}

/// Takes a snapshot of `server`'s threads, of this process and of the machine.
pub fn snapshot(server: u32) -> Snapshot {
    let mut snap = Snapshot::default();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{server}/task")) {
        for task in tasks.flatten() {
            let Some((name, u, s)) = std::fs::read_to_string(task.path().join("stat"))
                .ok()
                .and_then(|l| parse_stat(&l))
            else {
                continue;
            };
            let group = if name.starts_with("kmc-argon2") {
                GROUPS[0]
            } else if name.starts_with("tokio-r") {
                // `tokio-runtime-worker` before tokio 1.4x, `tokio-rt-worker` since.
                GROUPS[1]
            } else if name.starts_with("sqlx-sqlite") {
                GROUPS[2]
            } else {
                GROUPS[3]
            };
            add(&mut snap, group, u, s);
        }
    }
    if let Some((_, u, s)) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|l| parse_stat(&l))
    {
        add(&mut snap, GROUPS[4], u, s);
    }
    if let Some(cpu) = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| s.lines().next().map(str::to_string))
    {
        let v: Vec<f64> = cpu
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        let total: f64 = v.iter().take(8).sum();
        // idle and iowait are not busy.
        let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
        snap.machine_total = total / ticks_per_second();
        snap.machine_busy = (total - idle) / ticks_per_second();
    }
    snap
}

impl Snapshot {
    /// Adds what happened between `before` and `after` to these totals, so that several
    /// intervals (the load rounds of one level) add up to one.
    pub fn add_interval(&mut self, before: &Snapshot, after: &Snapshot) {
        for (key, end) in &after.groups {
            let start = before.groups.get(key).copied().unwrap_or(0.0);
            *self.groups.entry(*key).or_default() += end - start;
        }
        self.machine_busy += after.machine_busy - before.machine_busy;
        self.machine_total += after.machine_total - before.machine_total;
    }
}

fn add(snap: &mut Snapshot, group: &'static str, user: f64, system: f64) {
    *snap.groups.entry((group, "user")).or_default() += user;
    *snap.groups.entry((group, "system")).or_default() += system;
}

/// One row of a breakdown: the group, then user and system milliseconds per sign-in.
pub type Row = (String, f64, f64);

/// Milliseconds of CPU per sign-in, by group (user + system), for a level that did `signins`.
pub fn per_signin(before: &Snapshot, after: &Snapshot, signins: u64) -> Vec<Row> {
    let n = signins.max(1) as f64;
    let delta = |g: &'static str, k: &'static str| {
        after.groups.get(&(g, k)).copied().unwrap_or(0.0)
            - before.groups.get(&(g, k)).copied().unwrap_or(0.0)
    };
    let mut rows = Vec::new();
    let mut ours = 0.0;
    for g in GROUPS {
        let (u, s) = (delta(g, "user"), delta(g, "system"));
        ours += u + s;
        rows.push((g.to_string(), u * 1000.0 / n, s * 1000.0 / n));
    }
    let busy = after.machine_busy - before.machine_busy;
    let total = after.machine_total - before.machine_total;
    rows.push((
        "other processes on the machine".into(),
        (busy - ours).max(0.0) * 1000.0 / n,
        0.0,
    ));
    rows.push(("idle".into(), (total - busy).max(0.0) * 1000.0 / n, 0.0));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_time_are_read_after_a_name_with_spaces() {
        let line =
            "4242 (tokio-runtime-w) S 1 4242 4242 0 -1 4194368 100 0 0 0 250 30 0 0 20 0 8 0";
        let (name, u, s) = parse_stat(line).unwrap();
        assert_eq!(name, "tokio-runtime-w");
        assert_eq!((u, s), (2.5, 0.3));
        let odd = "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 10 20 0 0";
        assert_eq!(parse_stat(odd).unwrap().0, "a (b) c");
    }

    #[test]
    fn a_level_splits_into_groups_per_signin_and_the_rest_of_the_machine() {
        let mut a = Snapshot::default();
        let mut b = Snapshot::default();
        add(&mut b, GROUPS[0], 8.0, 0.0);
        add(&mut b, GROUPS[1], 1.0, 0.5);
        add(&mut a, GROUPS[0], 0.0, 0.0);
        a.machine_total = 0.0;
        b.machine_total = 20.0;
        b.machine_busy = 10.0;
        let rows = per_signin(&a, &b, 1000);
        assert_eq!(rows[0].1, 8.0);
        assert_eq!((rows[1].1, rows[1].2), (1.0, 0.5));
        let other = rows
            .iter()
            .find(|r| r.0.starts_with("other processes"))
            .unwrap();
        assert!((other.1 - 0.5).abs() < 1e-9);
        assert_eq!(rows.last().unwrap().1, 10.0);
    }
}
