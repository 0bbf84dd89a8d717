//! CPU time of the processes a run keeps busy, from `/proc`: this clone's DynamoDB Local
//! (its JVM), its PostgreSQL server (the postmaster and its backends, with the backends
//! that exited and were reaped), and this process (the in-process functions, the
//! emulated event source mappings and the SDK clients). Section 5 puts the pipeline's
//! beside the floor's: what each run asked of the machine's cores, next to its wall time.

use std::ops::Sub;

/// `/proc` counts CPU time in USER_HZ ticks (`sysconf(_SC_CLK_TCK)`): 100 a second on
/// Linux, whatever the kernel's own tick rate.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds (user + system) used so far; `None` for a server this clone's stack did
/// not start (another clone's, reused on the same port: its pid file is not ours).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    pub dynamodb_local: Option<f64>,
    pub postgres: Option<f64>,
    pub bench: f64,
}

impl CpuTimes {
    /// All three, when both servers were found.
    pub fn total(&self) -> Option<f64> {
        Some(self.dynamodb_local? + self.postgres? + self.bench)
    }
}

impl Sub for CpuTimes {
    type Output = CpuTimes;

    fn sub(self, earlier: CpuTimes) -> CpuTimes {
        let minus = |now: Option<f64>, then: Option<f64>| Some(now? - then?);
        CpuTimes {
            dynamodb_local: minus(self.dynamodb_local, earlier.dynamodb_local),
            postgres: minus(self.postgres, earlier.postgres),
            bench: self.bench - earlier.bench,
        }
    }
}

/// The processes' CPU time now: those of this clone's stack (the pid files `make up`
/// writes in `.local/run`), not others of their names on the machine.
pub fn now() -> CpuTimes {
    let run = devstack::env::local_dir().join("run");
    let pid_in =
        |file: &str| -> Option<u32> { std::fs::read_to_string(run.join(file)).ok()?.trim().parse().ok() };
    CpuTimes {
        dynamodb_local: pid_in("dynamodb.pid")
            .and_then(|pid| Stat::of(&pid.to_string()))
            .map(|s| s.own),
        postgres: pid_in("postgres.pid").and_then(server_tree),
        bench: Stat::of("self").map_or(0.0, |s| s.own),
    }
}

/// The postmaster's time, its backends' (live, and reaped: its children's time), and
/// nothing of any other cluster.
fn server_tree(postmaster: u32) -> Option<f64> {
    let server = Stat::of(&postmaster.to_string())?;
    let backends: f64 = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Stat::of(entry.file_name().to_str()?))
        .filter(|stat| stat.ppid == postmaster)
        .map(|stat| stat.own)
        .sum();
    Some(server.own + server.children + backends)
}

/// The fields of `/proc/<pid>/stat` used here, in seconds.
struct Stat {
    ppid: u32,
    /// utime + stime: the process's threads.
    own: f64,
    /// cutime + cstime: its children that exited and were waited for.
    children: f64,
}

impl Stat {
    /// `/proc/<pid>/stat`; `pid` may be `self`.
    fn of(pid: &str) -> Option<Stat> {
        Stat::parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    /// `pid (comm) state ppid ...`: `comm` may hold spaces and parentheses, so the
    /// fields after it are counted from the last `)`.
    fn parse(stat: &str) -> Option<Stat> {
        let fields: Vec<&str> = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().collect();
        // After `comm`: state (0), ppid (1), ... utime (11), stime (12), cutime (13),
        // cstime (14).
        let ticks = |i: usize| -> Option<f64> { fields.get(i)?.parse::<f64>().ok() };
        Some(Stat {
            ppid: fields.get(1)?.parse().ok()?,
            own: (ticks(11)? + ticks(12)?) / TICKS_PER_SECOND,
            children: (ticks(13)? + ticks(14)?) / TICKS_PER_SECOND,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_read_from_its_last_parenthesis() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
        // cmajflt utime stime cutime cstime ...
        let line = "42 (a (b) c) S 1 42 42 0 -1 4194560 10 0 0 0 250 50 700 100 20 0 1 0";
        let stat = Stat::parse(line).expect("parsed");
        assert_eq!(stat.ppid, 1);
        assert_eq!(stat.own, 3.0);
        assert_eq!(stat.children, 8.0);
    }

    #[test]
    fn this_process_is_counted() {
        let before = now().bench;
        let start = std::time::Instant::now();
        let mut x = 0u64;
        // Busy until a tick of CPU time is counted (10 ms), or give up after 10 s.
        while now().bench <= before && start.elapsed() < std::time::Duration::from_secs(10) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        assert!(now().bench > before);
    }
}
