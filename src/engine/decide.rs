//! The pure rules of the loop: acceptance, plateau, and which iteration is best.

use super::Settings;
use crate::thought::{Action, Decision, Iteration, StopReason};

/// Decide about the last of `iterations`, which has been validated (and critiqued,
/// unless critique was skipped).
pub(crate) fn decide(iterations: &[Iteration], settings: &Settings, critics: usize) -> Decision {
    let Some(it) = iterations.last() else {
        return stop(StopReason::Failed, "no draft to decide on", 0, 0, 0, 0);
    };
    let (hard_passed, hard_total) = it.hard_passed();
    let (satisfied, voting) = votes(it, settings.confidence_floor);
    let critics_ok = critics == 0 || settings.accept_when.holds(satisfied, voting);
    let accepted = hard_passed == hard_total && critics_ok;
    let mut d = Decision {
        action: Action::Revise,
        stop_reason: None,
        hard_passed,
        hard_total,
        critics_satisfied: satisfied,
        critics_voting: voting,
        accepted,
        reason: String::new(),
    };
    let (reason, why) = if accepted {
        (
            Some(StopReason::Accepted),
            accept_reason(critics, satisfied, voting, hard_total, settings),
        )
    } else if regressed_twice(iterations) {
        (
            Some(StopReason::Plateau),
            "fewer hard validators passed than before, twice running".into(),
        )
    } else if it.index + 1 >= settings.max_iterations {
        (Some(StopReason::MaxIterations), format!("reached {} iterations", settings.max_iterations))
    } else {
        (None, revise_reason(critics, satisfied, voting, hard_passed, hard_total))
    };
    if reason.is_some() {
        d.action = Action::Stop;
    }
    d.stop_reason = reason;
    d.reason = why;
    d
}

fn stop(
    reason: StopReason,
    why: &str,
    hard_passed: usize,
    hard_total: usize,
    satisfied: usize,
    voting: usize,
) -> Decision {
    Decision {
        action: Action::Stop,
        stop_reason: Some(reason),
        hard_passed,
        hard_total,
        critics_satisfied: satisfied,
        critics_voting: voting,
        accepted: false,
        reason: why.to_owned(),
    }
}

fn accept_reason(
    critics: usize,
    satisfied: usize,
    voting: usize,
    hard_total: usize,
    settings: &Settings,
) -> String {
    let validators = format!("all {hard_total} hard validators passed");
    if critics == 0 {
        return validators;
    }
    format!("{validators}; {satisfied} of {voting} critics satisfied ({})", settings.accept_when)
}

fn revise_reason(
    critics: usize,
    satisfied: usize,
    voting: usize,
    hard_passed: usize,
    hard_total: usize,
) -> String {
    let mut parts = Vec::new();
    if hard_passed < hard_total {
        parts.push(format!("{} of {hard_total} hard validators failed", hard_total - hard_passed));
    }
    if critics > 0 && voting == 0 {
        parts.push("no critic gave a valid verdict".to_owned());
    } else if critics > 0 {
        parts.push(format!("{satisfied} of {voting} critics satisfied"));
    }
    parts.join("; ")
}

/// Critics satisfied and critics voting on `it`.
pub(crate) fn votes(it: &Iteration, floor: f64) -> (usize, usize) {
    let voting = it.critiques.iter().filter(|c| c.votes());
    let satisfied = voting.clone().filter(|c| c.satisfied(floor)).count();
    (satisfied, voting.count())
}

/// Whether the last iteration passed fewer hard validators than its predecessor, which
/// in turn passed fewer than its own predecessor.
fn regressed_twice(iterations: &[Iteration]) -> bool {
    let [.., a, b, c] = iterations else { return false };
    let (pa, total) = a.hard_passed();
    let (pb, _) = b.hard_passed();
    let (pc, _) = c.hard_passed();
    total > 0 && pc < pb && pb < pa
}

/// Whether two texts are the same after whitespace normalisation.
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// The best iteration among those with a non-blank text: accepted first, then evaluated, then most hard validators
/// passed, then the largest share of critics satisfied, then the later one.
pub(crate) fn best(iterations: &[Iteration], floor: f64) -> Option<usize> {
    iterations
        .iter()
        .filter(|it| !it.text.trim().is_empty())
        .max_by(|a, b| {
            rank(a, floor).partial_cmp(&rank(b, floor)).unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|it| it.index)
}

fn rank(it: &Iteration, floor: f64) -> (bool, bool, usize, f64, usize) {
    let accepted = it.decision.as_ref().is_some_and(|d| d.accepted);
    let evaluated = it.decision.is_some() || !it.validations.is_empty() || !it.critiques.is_empty();
    let (satisfied, voting) = votes(it, floor);
    let share = if voting == 0 { 0.0 } else { satisfied as f64 / voting as f64 };
    (accepted, evaluated, it.hard_passed().0, share, it.index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::AcceptWhen;
    use crate::thought::{Critique, Verdict};

    fn verdict(passed: bool) -> Verdict {
        if passed { Verdict::pass("v", "") } else { Verdict::fail("v", 0.0, "fix") }
    }

    fn critique(needs: bool, confidence: f64) -> Critique {
        Critique {
            critic: "c".into(),
            needs_improvement: needs,
            confidence,
            feedback: "f".into(),
            suggestions: vec![],
            error: None,
        }
    }

    fn iteration(index: usize, passes: &[bool], critiques: Vec<Critique>) -> Iteration {
        let mut it = Iteration::new(index, format!("text {index}"));
        it.validations = passes.iter().map(|&p| verdict(p)).collect();
        it.critiques = critiques;
        it
    }

    #[test]
    fn accepts_when_validators_pass_and_critics_are_satisfied() {
        let its = [iteration(0, &[true], vec![critique(false, 0.9)])];
        let d = decide(&its, &Settings::default(), 1);
        assert!(d.accepted);
        assert_eq!(d.stop_reason, Some(StopReason::Accepted));
    }

    #[test]
    fn a_failed_hard_validator_blocks_acceptance() {
        let its = [iteration(0, &[false], vec![critique(false, 0.9)])];
        let d = decide(&its, &Settings::default(), 1);
        assert!(!d.accepted);
        assert_eq!(d.action, Action::Revise);
    }

    #[test]
    fn no_valid_verdict_is_never_accepted() {
        let its = [iteration(
            0,
            &[],
            vec![Critique::failed(
                "c",
                crate::thought::ErrorInfo::new(crate::thought::ErrorKind::Timeout, "timeout"),
            )],
        )];
        let d = decide(&its, &Settings::default(), 1);
        assert!(!d.accepted);
        assert_eq!(d.critics_voting, 0);
        assert!(d.reason.contains("no critic gave a valid verdict"), "{}", d.reason);
    }

    #[test]
    fn low_confidence_complaints_do_not_block() {
        let its = [iteration(0, &[], vec![critique(true, 0.3)])];
        assert!(decide(&its, &Settings::default(), 1).accepted);
    }

    #[test]
    fn majority_rule() {
        let settings =
            Settings { accept_when: AcceptWhen::MajoritySatisfied, ..Settings::default() };
        let cs = vec![critique(false, 0.9), critique(false, 0.9), critique(true, 0.9)];
        assert!(decide(&[iteration(0, &[], cs)], &settings, 3).accepted);
    }

    #[test]
    fn stops_at_max_iterations() {
        let settings = Settings { max_iterations: 2, ..Settings::default() };
        let its = [
            iteration(0, &[], vec![critique(true, 0.9)]),
            iteration(1, &[], vec![critique(true, 0.9)]),
        ];
        assert_eq!(decide(&its[..1], &settings, 1).action, Action::Revise);
        assert_eq!(decide(&its, &settings, 1).stop_reason, Some(StopReason::MaxIterations));
    }

    #[test]
    fn plateau_after_two_regressions_in_hard_validators() {
        let settings = Settings { max_iterations: 10, ..Settings::default() };
        let its = [
            iteration(0, &[true, true], vec![]),
            iteration(1, &[true, false], vec![]),
            iteration(2, &[false, false], vec![]),
        ];
        assert_eq!(decide(&its[..2], &settings, 0).action, Action::Revise);
        assert_eq!(decide(&its, &settings, 0).stop_reason, Some(StopReason::Plateau));
    }

    #[test]
    fn whitespace_is_normalised_when_comparing_texts() {
        assert!(same_text("a  b\n c ", " a b c"));
        assert!(!same_text("a b", "a c"));
    }

    #[test]
    fn best_prefers_accepted_then_validators_then_critics_then_later() {
        let floor = 0.5;
        let mut a = iteration(0, &[true, true], vec![critique(true, 0.9)]);
        let b = iteration(1, &[true, false], vec![critique(false, 0.9)]);
        let c = iteration(2, &[true, true], vec![critique(true, 0.9)]);
        assert_eq!(best(&[a.clone(), b.clone()], floor), Some(0), "more validators beat critics");
        assert_eq!(best(&[a.clone(), c.clone()], floor), Some(2), "ties go to the later one");
        a.decision = Some(decide(&[iteration(0, &[true], vec![])], &Settings::default(), 0));
        assert_eq!(best(&[a, b, c], floor), Some(0), "accepted first");
    }

    #[test]
    fn a_blank_text_is_never_best() {
        assert_eq!(best(&[iteration(0, &[], vec![])], 0.5), Some(0));
        let blank = Iteration::new(0, " \n\t ".into());
        assert_eq!(best(&[blank], 0.5), None);
    }
}
