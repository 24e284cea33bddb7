//! Printing results: pretty JSON for scripts, borderless tables for people, and the
//! rendering of delivered messages that `pull` and `subscribe` share.

use std::collections::BTreeMap;
use std::io::Write as _;

use api::data::Data;
use api::types::{Message, ReceivedMessage};
use comfy_table::{Cell, CellAlignment, Row, Table};
use serde::Serialize;

/// Longest payload shown in a table cell or a message line; `--format json` shows all.
const MAX_DATA_CHARS: usize = 120;

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    print_text(&serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints a table or a sentence on stdout.
///
/// When the reader has gone (`pubsub-cli pull … | head -1`), the CLI exits 0 at
/// once, as `cat` and `grep` do, instead of panicking as `println!` would: nothing
/// printed after that could reach anyone. A message not printed is not acked by
/// `subscribe` (it acks after printing), so it is delivered again. Any other
/// write error (a full disk) exits 1 with the reason.
pub fn print_text(text: &str) {
    let written = writeln!(std::io::stdout().lock(), "{text}");
    match written {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(error) => {
            eprintln!("error: cannot write to stdout: {error}");
            std::process::exit(1);
        }
    }
}

/// A borderless table in the style of `kubectl get`: upper-case headers, aligned columns.
#[derive(Debug)]
pub struct TextTable {
    table: Table,
}

impl TextTable {
    pub fn new(header: &[&str]) -> Self {
        let mut table = Table::new();
        table
            .load_preset(comfy_table::presets::NOTHING)
            .set_header(header.iter().map(|h| h.to_uppercase()));
        for column in table.column_iter_mut() {
            column.set_padding((0, 2));
        }
        Self { table }
    }

    /// Adds a row; cells that are numbers are right-aligned by [`TextTable::number`].
    pub fn row(&mut self, cells: Vec<Cell>) -> &mut Self {
        self.table.add_row(Row::from(cells));
        self
    }

    pub fn render(&self) -> String {
        self.table
            .lines()
            .map(|line| line.trim_end().to_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn text(value: impl ToString) -> Cell {
        Cell::new(value.to_string())
    }

    pub fn number(value: impl ToString) -> Cell {
        Cell::new(value.to_string()).set_alignment(CellAlignment::Right)
    }
}

/// A two-column table of labelled values, for one resource.
pub fn fields(rows: &[(&str, String)]) -> String {
    let width = rows
        .iter()
        .map(|(label, _)| label.len() + 1)
        .max()
        .unwrap_or(0);
    rows.iter()
        .map(|(label, value)| format!("{:<width$}  {value}", format!("{label}:")))
        .map(|line| line.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The payload as text when it is UTF-8, else as `base64:...`; cut to `MAX_DATA_CHARS`.
pub fn data_text(data: &Data) -> String {
    let text = match std::str::from_utf8(&data.0) {
        Ok(text) => text.to_owned(),
        // Data serializes as standard base64, the same encoding as in JSON.
        Err(_) => match serde_json::to_value(data) {
            Ok(serde_json::Value::String(b64)) => format!("base64:{b64}"),
            _ => format!("<{} bytes>", data.len()),
        },
    };
    shorten(&text, MAX_DATA_CHARS)
}

/// `k1=v1,k2=v2`, in key order; empty when there are none.
pub fn attributes_text(attributes: &BTreeMap<String, String>) -> String {
    attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Delivered messages as a table; the ack id column is there when the caller still
/// has to acknowledge them, the generation column when a member of a group pulled them.
pub fn received_messages_table(messages: &[ReceivedMessage], with_ack_ids: bool) -> String {
    let with_generation = messages.iter().any(|m| m.generation.is_some());
    let mut header = vec!["message id", "attempt"];
    if with_generation {
        header.push("generation");
    }
    header.extend(["ordering key", "attributes", "data"]);
    if with_ack_ids {
        header.push("ack id");
    }
    let mut table = TextTable::new(&header);
    for received in messages {
        let m = &received.message;
        let mut cells = vec![
            TextTable::text(&m.message_id),
            TextTable::number(received.delivery_attempt),
        ];
        if with_generation {
            cells.push(TextTable::number(
                received
                    .generation
                    .map_or_else(|| "-".to_owned(), |g| g.to_string()),
            ));
        }
        cells.extend([
            TextTable::text(m.ordering_key.as_deref().unwrap_or("")),
            TextTable::text(attributes_text(&m.attributes)),
            TextTable::text(one_line(&data_text(&m.data))),
        ]);
        if with_ack_ids {
            cells.push(TextTable::text(&received.ack_id));
        }
        table.row(cells);
    }
    table.render()
}

/// One delivered message on one line, for a stream; `generation` is the group
/// generation it was delivered under, on a partitioned subscription.
pub fn message_line(message: &Message, delivery_attempt: u32, generation: Option<u64>) -> String {
    let mut line = format!("{} attempt={}", message.message_id, delivery_attempt);
    if let Some(generation) = generation {
        line.push_str(&format!(" generation={generation}"));
    }
    if let Some(key) = &message.ordering_key {
        line.push_str(&format!(" key={key}"));
    }
    if !message.attributes.is_empty() {
        line.push_str(&format!(" attrs={}", attributes_text(&message.attributes)));
    }
    line.push_str(&format!(" data={}", one_line(&data_text(&message.data))));
    line
}

/// `12.5s`, or `-` when nothing is unacknowledged.
pub fn age_text(age_seconds: Option<f64>) -> String {
    age_seconds.map_or_else(|| "-".to_owned(), |age| format!("{age:.1}s"))
}

/// Bytes with a binary unit, e.g. `1.5 KiB`.
pub fn bytes_text(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Keeps a table row on one line: control characters are shown escaped.
pub fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '\n' => vec!['\\', 'n'],
            '\r' => vec!['\\', 'r'],
            '\t' => vec!['\\', 't'],
            c => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(data: &[u8], key: Option<&str>) -> ReceivedMessage {
        ReceivedMessage {
            ack_id: "ack-0-7".to_owned(),
            message: Message {
                message_id: "0-7".to_owned(),
                data: Data::from(data.to_vec()),
                attributes: BTreeMap::from([("color".to_owned(), "red".to_owned())]),
                ordering_key: key.map(str::to_owned),
                priority: 4,
                publish_time: "2026-11-25T17:42:02.123Z".to_owned(),
                deliver_time: None,
                expire_time: None,
                partition: 0,
                offset: 7,
            },
            delivery_attempt: 2,
            generation: None,
        }
    }

    #[test]
    fn payloads_are_text_when_utf8_and_base64_otherwise() {
        assert_eq!(data_text(&Data::from("héllo")), "héllo");
        assert_eq!(
            data_text(&Data::from(vec![0xff, 0x00, 0x01])),
            "base64:/wAB"
        );
        let long = "x".repeat(MAX_DATA_CHARS + 5);
        assert_eq!(
            data_text(&Data::from(long.as_str())).chars().count(),
            MAX_DATA_CHARS + 1
        );
    }

    #[test]
    fn message_table_has_one_aligned_row_per_message() {
        let text = received_messages_table(&[sample(b"hello\nworld", Some("k1"))], true);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("MESSAGE ID  ATTEMPT  ORDERING KEY  ATTRIBUTES"));
        assert!(lines[0].ends_with("ACK ID"));
        for expected in ["0-7", "2", "k1", "color=red", "hello\\nworld", "ack-0-7"] {
            assert!(lines[1].contains(expected), "{expected} in {text}");
        }
        let without = received_messages_table(&[sample(b"x", None)], false);
        assert!(!without.contains("ACK ID"), "{without}");
    }

    #[test]
    fn stream_lines_show_only_what_is_set() {
        let with_key = sample(b"hi", Some("k1"));
        assert_eq!(
            message_line(&with_key.message, 1, None),
            "0-7 attempt=1 key=k1 attrs=color=red data=hi"
        );
        let mut plain = sample(b"hi", None).message;
        plain.attributes.clear();
        assert_eq!(message_line(&plain, 3, None), "0-7 attempt=3 data=hi");
        assert_eq!(
            message_line(&plain, 1, Some(4)),
            "0-7 attempt=1 generation=4 data=hi"
        );
    }

    #[test]
    fn messages_pulled_by_a_member_show_their_generation() {
        let mut received = sample(b"hi", Some("k1"));
        received.generation = Some(3);
        let text = received_messages_table(&[received], false);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("MESSAGE ID  ATTEMPT  GENERATION  ORDERING KEY"),
            "{text}"
        );
        let row: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(row.get(..4), Some(&["0-7", "2", "3", "k1"][..]), "{text}");
    }

    #[test]
    fn json_is_the_server_shape() {
        let json = serde_json::to_value(sample(b"hi", None)).expect("serializes");
        assert_eq!(json["ackId"], "ack-0-7");
        assert_eq!(json["message"]["data"], "aGk=");
        assert_eq!(json["deliveryAttempt"], 2);
    }

    #[test]
    fn fields_align_labels_and_bytes_use_binary_units() {
        let text = fields(&[
            ("name", "orders".to_owned()),
            ("partitions", "4".to_owned()),
        ]);
        assert_eq!(text, "name:        orders\npartitions:  4");
        assert_eq!(bytes_text(512), "512 B");
        assert_eq!(bytes_text(1536), "1.5 KiB");
        assert_eq!(age_text(Some(1.25)), "1.2s");
        assert_eq!(age_text(None), "-");
    }
}
