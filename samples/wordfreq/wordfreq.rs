//! wordfreq: reads text on stdin and prints its most frequent words as a table.
//!
//! A word is a run of letters, digits or apostrophes; words are compared in lower case.
//! Ties are broken alphabetically so that the output is the same on every run.
//! Jobs get no arguments, so the table length is fixed at `TOP`.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::process::ExitCode;

const TOP: usize = 20;

fn main() -> ExitCode {
    let mut input = Vec::new();
    if let Err(error) = io::stdin().read_to_end(&mut input) {
        eprintln!("wordfreq: could not read stdin: {}", error);
        return ExitCode::from(1);
    }
    // Lossy decoding: a stray invalid byte should not cost the user the whole table.
    let text = String::from_utf8_lossy(&input);
    let counts = count_words(&text);
    let table = render_table(&counts);
    match io::stdout().lock().write_all(table.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("wordfreq: could not write stdout: {}", error);
            ExitCode::from(1)
        }
    }
}

fn count_words(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    let is_word_char = |c: char| c.is_alphanumeric() || c == '\'';
    for word in text.split(|c: char| !is_word_char(c)) {
        let word = word.trim_matches('\'');
        if !word.is_empty() {
            *counts.entry(word.to_lowercase()).or_insert(0) += 1;
        }
    }
    counts
}

fn render_table(counts: &HashMap<String, usize>) -> String {
    let mut ranked: Vec<(&String, &usize)> = counts.iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let total: usize = counts.values().sum();

    let mut out = String::new();
    out.push_str(&format!("{:>4}  {:>7}  {:>6}  {}\n", "rank", "count", "share", "word"));
    for (rank, (word, count)) in ranked.iter().take(TOP).enumerate() {
        let share = 100.0 * (**count as f64) / (total as f64);
        out.push_str(&format!("{:>4}  {:>7}  {:>5.1}%  {}\n", rank + 1, count, share, word));
    }
    out.push_str(&format!("{} words, {} distinct\n", total, counts.len()));
    out
}
