//! CPU time of the processes a run keeps busy, from `/proc`: DynamoDB Local's JVM, the
//! PostgreSQL server (the postmaster and its backends, with the backends that exited
//! and were reaped), and this process (the in-process functions, the emulated event
//! source mappings and the SDK clients). Section 5 puts the pipeline's beside the
//! floor's: on a machine of a few cores, a run whose processes keep every core busy is
//! bound by the CPU they need, not by waits.

use std::ops::Sub;

/// `/proc` counts CPU time in USER_HZ ticks: 100 a second on Linux, whatever the kernel's
/// own tick rate (`sysconf(_SC_CLK_TCK)`).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds (user + system) used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    pub dynamodb_local: f64,
    pub postgres: f64,
    pub bench: f64,
}

impl CpuTimes {
    pub fn total(&self) -> f64 {
        self.dynamodb_local + self.postgres + self.bench
    }
}

impl Sub for CpuTimes {
    type Output = CpuTimes;

    fn sub(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            dynamodb_local: self.dynamodb_local - earlier.dynamodb_local,
            postgres: self.postgres - earlier.postgres,
            bench: self.bench - earlier.bench,
        }
    }
}

/// The processes' CPU time now. A process that cannot be read counts nothing.
pub fn now() -> CpuTimes {
    let mut times = CpuTimes {
        bench: std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|stat| Stat::parse(&stat))
            .map_or(0.0, |s| s.own),
        ..CpuTimes::default()
    };
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return times;
    };
    for entry in dir.flatten() {
        let path = entry.path();
        let Some(stat) = std::fs::read_to_string(path.join("stat"))
            .ok()
            .and_then(|s| Stat::parse(&s))
        else {
            continue;
        };
        if stat.command == "postgres" {
            // A backend's time moves to the postmaster's children's when it is reaped.
            times.postgres += stat.own
                + if stat.started_by_postgres {
                    0.0
                } else {
                    stat.children
                };
        } else if stat.command == "java" {
            let cmdline = std::fs::read(path.join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains("DynamoDBLocal") {
                times.dynamodb_local += stat.own;
            }
        }
    }
    times
}

/// The fields of `/proc/<pid>/stat` used here, in seconds.
struct Stat {
    command: String,
    /// A backend; the postmaster is the one postgres process that is not.
    started_by_postgres: bool,
    /// utime + stime: the process's threads.
    own: f64,
    /// cutime + cstime: its children that exited and were waited for.
    children: f64,
}

impl Stat {
    /// `pid (comm) state ppid ...`: `comm` may hold spaces and parentheses, so the
    /// fields after it are counted from the last `)`.
    fn parse(stat: &str) -> Option<Stat> {
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let command = stat.get(open + 1..close)?.to_string();
        let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
        // After `comm`: state (0), ppid (1), ... utime (11), stime (12), cutime (13),
        // cstime (14).
        let ticks = |i: usize| -> Option<f64> { fields.get(i)?.parse::<f64>().ok() };
        let ppid: u32 = fields.get(1)?.parse().ok()?;
        Some(Stat {
            command,
            started_by_postgres: ppid > 1 && is_postgres(ppid),
            own: (ticks(11)? + ticks(12)?) / TICKS_PER_SECOND,
            children: (ticks(13)? + ticks(14)?) / TICKS_PER_SECOND,
        })
    }
}

fn is_postgres(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == "postgres")
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
        assert_eq!(stat.command, "a (b) c");
        assert!(!stat.started_by_postgres);
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
