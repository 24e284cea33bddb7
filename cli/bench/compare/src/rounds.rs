//! Alternating rounds. A target that compares two rows run minutes apart moves with
//! the machine's speed more than by its margin, so `run.sh` runs both sides again,
//! alternating, as workloads named after the run's own (`a-r1`, `b-r2`; `hop3` for the
//! cluster hop), and a verdict is the median of the run's ratio and the rounds'.

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
