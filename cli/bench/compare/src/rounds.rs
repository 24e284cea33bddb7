//! Alternating rounds. A target that compares two rows run minutes apart moves with
//! the machine's speed more than by its margin, so `run.sh` runs both sides again,
//! alternating, as workloads named after the run's own (`a-r1`, `b-r2`; `hop3` for the
//! cluster hop), and a verdict is the median of the run's ratio and the rounds'.

use bench::Report;

use crate::results::Results;

/// The ratios of the rounds named `prefix…` (those `ratio` can compute), and the
/// reports of `rows` in the run's workload `main` and in every round: what a verdict's
/// check for lost and duplicated messages reads.
pub fn rounds_of<'a>(
    results: &'a Results,
    main: &'a str,
    prefix: &str,
    rows: [&'a str; 2],
    ratio: impl Fn(&str) -> Option<f64>,
) -> (Vec<f64>, Vec<(&'a str, &'a Report)>) {
    let names = results.workloads_named(prefix);
    let ratios = names.iter().filter_map(|round| ratio(round)).collect();
    let reports = std::iter::once(main)
        .chain(names)
        .flat_map(|workload| {
            rows.into_iter()
                .filter_map(move |row| Some((row, results.measured(workload, row)?)))
        })
        .collect();
    (ratios, reports)
}

/// The figure's tail naming each round's ratio, and the median of `first` (the run's
/// ratio) and `rounds`; no tail, and `first`, without rounds.
pub fn with_rounds(first: f64, rounds: &[f64]) -> (String, f64) {
    if rounds.is_empty() {
        return (String::new(), first);
    }
    let shown: Vec<String> = rounds.iter().map(|r| format!("{r:.2}")).collect();
    let mut all = vec![first];
    all.extend(rounds);
    let middle = median(&mut all);
    let tail = format!(
        "; alternating rounds {}; median of all {} = {middle:.2}×",
        shown.join(", "),
        all.len()
    );
    (tail, middle)
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_takes_the_run_and_its_rounds() {
        assert_eq!(with_rounds(1.9, &[]), (String::new(), 1.9));
        let (tail, middle) = with_rounds(1.9, &[1.2, 1.4]);
        assert_eq!(middle, 1.4);
        assert_eq!(
            tail,
            "; alternating rounds 1.20, 1.40; median of all 3 = 1.40×"
        );
        assert_eq!(with_rounds(1.0, &[2.0, 3.0, 4.0]).1, 2.5);
    }
}
