//! `--compression`, shared by `publish` and `bench`.

use api::compression::Compression;
use clap::ValueEnum;

/// A `Content-Encoding` for publish bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    Snappy,
    Lz4,
}

impl From<CompressionArg> for Compression {
    fn from(arg: CompressionArg) -> Self {
        match arg {
            CompressionArg::Snappy => Compression::Snappy,
            CompressionArg::Lz4 => Compression::Lz4,
        }
    }
}
