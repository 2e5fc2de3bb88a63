//! The default number of generation threads for the local model: one less than the
//! physical cores, at least one.
//!
//! Why not all of them: llama.cpp's threads spin in lock step, so a thread that has to
//! share its core with anything else (the async runtime, a second process, a parallel
//! build) stalls all the others: measured with two threads on a two-core machine whose
//! second core was busy, throughput fell from 95 to 28 tokens per second. Leaving a
//! core free costs little and avoids that cliff. Hyper-threads do not help either, so
//! the count is of *physical* cores.

use std::collections::BTreeSet;

/// max(1, physical cores − 1): the default of config `local.threads`.
pub fn default_threads() -> usize {
    physical_cores().saturating_sub(1).max(1)
}

/// The physical cores this process may use: on Linux the distinct (`physical id`,
/// `core id`) pairs of `/proc/cpuinfo`, never more than
/// [`std::thread::available_parallelism`] (logical cores, less any CPU affinity or
/// quota); elsewhere, or when `/proc/cpuinfo` does not say, the logical count.
pub fn physical_cores() -> usize {
    let logical = std::thread::available_parallelism().map_or(1, usize::from);
    let physical = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| cores_in_cpuinfo(&text))
        .unwrap_or(logical);
    physical.clamp(1, logical)
}

/// Distinct (`physical id`, `core id`) pairs in a `/proc/cpuinfo` text; `None` when it
/// lists no core ids (some architectures do not).
fn cores_in_cpuinfo(text: &str) -> Option<usize> {
    let mut cores = BTreeSet::new();
    let mut package = String::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        match key.trim() {
            "physical id" => package = value.trim().to_owned(),
            "core id" => {
                cores.insert((package.clone(), value.trim().to_owned()));
            }
            "processor" => package.clear(),
            _ => {}
        }
    }
    (!cores.is_empty()).then_some(cores.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_threads_count_once() {
        let text = "processor\t: 0\nphysical id\t: 0\ncore id\t: 0\n\n\
                    processor\t: 1\nphysical id\t: 0\ncore id\t: 1\n\n\
                    processor\t: 2\nphysical id\t: 0\ncore id\t: 0\n\n\
                    processor\t: 3\nphysical id\t: 0\ncore id\t: 1\n";
        assert_eq!(cores_in_cpuinfo(text), Some(2));
    }

    #[test]
    fn cores_of_two_packages_are_distinct() {
        let text = "processor\t: 0\nphysical id\t: 0\ncore id\t: 0\n\n\
                    processor\t: 1\nphysical id\t: 1\ncore id\t: 0\n";
        assert_eq!(cores_in_cpuinfo(text), Some(2));
    }

    #[test]
    fn no_core_ids_means_unknown() {
        assert_eq!(cores_in_cpuinfo("processor\t: 0\nBogoMIPS\t: 50.00\n"), None);
    }

    #[test]
    fn the_default_is_at_least_one_and_leaves_a_core_free() {
        let threads = default_threads();
        assert!(threads >= 1);
        assert!(threads == 1 || threads < physical_cores(), "{threads}");
    }
}
