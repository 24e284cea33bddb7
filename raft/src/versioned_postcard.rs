//! The one encoding this crate writes, to disk and to peers: postcard behind a
//! one-byte format version. The node's storage calls between peers use it too.
//!
//! postcard is not self-describing, so a changed type cannot decode old bytes.
//! The version byte lets a release recognise what an older one wrote (and
//! migrate it, [`decode_migrating`]) or what a newer peer sent (and refuse it),
//! instead of misreading either. Which version means which layout, and how a
//! change of a stored type adds a version, is `log_format`'s to say.

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use cluster::wire_format::{FORMAT_V1, FORMAT_V2};

/// The newest format this release reads and writes.
pub const CURRENT: u8 = FORMAT_V2;

/// Encodes `value` as `[version, postcard bytes...]`, where `version` is the
/// oldest format whose layout holds the value (`cluster::wire_format`): a
/// value with nothing a later format added stays readable by a peer of an
/// older release during a rolling upgrade.
///
/// The bytes are written once into a buffer of their exact size, measured by
/// a first pass (postcard's `Size` output): growing the buffer as it fills
/// copied a large value (a batch of messages between nodes) several times
/// over, and cost more than the measuring pass.
pub fn encode<T: Serialize>(value: &T) -> io::Result<Vec<u8>> {
    let (bytes, version) = cluster::wire_format::needed_while(|| {
        let size = postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default())?;
        let mut buffer = Vec::with_capacity(1 + size);
        buffer.push(CURRENT);
        postcard::serialize_with_flavor(value, VecFlavor(buffer))
    });
    let mut bytes = bytes.map_err(invalid)?;
    bytes[0] = version;
    Ok(bytes)
}

/// A postcard output that appends to a `Vec` with `push` and
/// `extend_from_slice` (postcard's own `to_extend` goes through `Extend`,
/// one byte at a time for a single byte).
struct VecFlavor(Vec<u8>);

impl postcard::ser_flavors::Flavor for VecFlavor {
    type Output = Vec<u8>;

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<Vec<u8>> {
        Ok(self.0)
    }
}

/// Decodes what [`encode`] wrote, or a version whose layout today's types
/// still read: version 2 only appended an enum variant (`Command::MovePartitions`),
/// so every version-1 value decodes unchanged. Any other version is an error,
/// not a guess. A version that changes a layout must narrow this to the types
/// it left alone and migrate the others (`log_format`).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    decode_migrating(bytes, |version, body| match version {
        FORMAT_V1 => decode_body(body),
        _ => Err(unknown_version(version)),
    })
}

/// Decodes what [`encode`] wrote, or hands the body of an older version to
/// `older` (with that version), which decodes it with the types as they were
/// then and converts the result to today's. A version newer than [`CURRENT`]
/// is refused without calling `older`: this release cannot know its layout.
pub fn decode_migrating<T: DeserializeOwned>(
    bytes: &[u8],
    older: impl FnOnce(u8, &[u8]) -> io::Result<T>,
) -> io::Result<T> {
    decode_at(CURRENT, bytes, older)
}

/// [`decode_migrating`] for a release whose current format is `current`.
fn decode_at<T: DeserializeOwned>(
    current: u8,
    bytes: &[u8],
    older: impl FnOnce(u8, &[u8]) -> io::Result<T>,
) -> io::Result<T> {
    match bytes.split_first() {
        Some((&version, body)) if version == current => postcard::from_bytes(body).map_err(invalid),
        Some((&version, body)) if (FORMAT_V1..current).contains(&version) => older(version, body),
        Some((&version, _)) => Err(unknown_version(version)),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "encoded value is empty",
        )),
    }
}

/// Decodes a body (the bytes after the version byte) as today's `T`: the
/// migration of a version whose layout today's types still read.
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> io::Result<T> {
    postcard::from_bytes(body).map_err(invalid)
}

/// The error for a version this release does not read.
pub fn unknown_version(version: u8) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "encoded value has format version {version}, which this release (format {CURRENT}) \
             does not read"
        ),
    )
}

fn invalid(e: postcard::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[test]
    fn encodes_into_a_buffer_of_the_exact_size_with_the_same_bytes() {
        let value = (vec![vec![7u8; 300]; 40], "seven".to_owned(), u64::MAX);
        let bytes = encode(&value).expect("encode");
        assert_eq!(bytes.len(), bytes.capacity(), "one allocation, never grown");
        let plain = postcard::to_extend(&value, vec![FORMAT_V1]).expect("encode");
        assert_eq!(bytes, plain, "the same layout as postcard's own writer");
    }

    #[test]
    fn round_trips_and_rejects_unknown_versions() {
        let bytes = encode(&(7u64, "seven".to_owned())).expect("encode");
        assert_eq!(bytes[0], FORMAT_V1, "nothing in it needs a later format");
        let back: (u64, String) = decode(&bytes).expect("decode");
        assert_eq!(back, (7, "seven".to_owned()));

        let mut future = bytes.clone();
        future[0] = CURRENT + 1;
        let refused = decode::<(u64, String)>(&future).expect_err("a newer version");
        assert!(refused.to_string().contains("does not read"), "{refused}");
        assert!(decode::<(u64, String)>(&[]).is_err());
        assert!(
            decode::<(u64, String)>(&[0, 1]).is_err(),
            "version 0 never existed"
        );
    }

    #[test]
    fn a_format_1_peer_reads_every_value_but_the_commands_format_2_added() {
        use cluster::{Command, NodeId};
        let format_1_release = |bytes: &[u8]| {
            decode_at::<Vec<Command>>(FORMAT_V1, bytes, |_, _| panic!("nothing older"))
        };
        let old = vec![Command::SetNodeLive {
            id: NodeId::new(2),
            live: true,
        }];
        let written = encode(&old).expect("encode");
        assert_eq!(format_1_release(&written).expect("read by 0.1"), old);

        let mut new = old.clone();
        new.push(Command::MovePartitions { moves: Vec::new() });
        let written = encode(&new).expect("encode");
        assert_eq!(written[0], FORMAT_V2);
        let refused = format_1_release(&written).expect_err("0.1 cannot read it");
        assert!(
            refused.to_string().contains("format version 2"),
            "{refused}"
        );
        assert_eq!(decode::<Vec<Command>>(&written).expect("read here"), new);
    }

    /// A type as an older release stored it, and as it is now: the shape of
    /// every migration `log_format` will hold.
    #[derive(Serialize, Deserialize)]
    struct RetentionThen {
        max_age_millis: Option<u64>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct RetentionNow {
        max_age_millis: Option<u64>,
        max_messages: Option<u64>,
    }

    impl From<RetentionThen> for RetentionNow {
        fn from(then: RetentionThen) -> Self {
            Self {
                max_age_millis: then.max_age_millis,
                max_messages: None,
            }
        }
    }

    #[test]
    fn an_older_version_is_decoded_with_its_own_types_and_migrated() {
        // A release at format 2 reading what a format-1 release wrote.
        let then = RetentionThen {
            max_age_millis: Some(9),
        };
        let old = postcard::to_extend(&then, vec![FORMAT_V1]).expect("encode");
        let mut asked = None;
        let migrated = decode_at::<RetentionNow>(2, &old, |version, body| {
            asked = Some(version);
            postcard::from_bytes::<RetentionThen>(body)
                .map(RetentionNow::from)
                .map_err(invalid)
        })
        .expect("migrated");
        assert_eq!(asked, Some(FORMAT_V1));
        assert_eq!(
            migrated,
            RetentionNow {
                max_age_millis: Some(9),
                max_messages: None
            }
        );
        // Without the migration the old bytes do not decode as today's type.
        assert!(postcard::from_bytes::<RetentionNow>(&old[1..]).is_err());
        // And a version-2 value is read directly, never handed to `older`.
        let now = postcard::to_extend(&migrated, vec![2]).expect("encode");
        let read = decode_at::<RetentionNow>(2, &now, |_, _| panic!("not older"));
        assert_eq!(read.expect("decoded"), migrated);
    }
}
