//! The flags of every `list` command.

use clap::Args;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Items fetched per request; every page is listed.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(api::limits::MAX_PAGE_SIZE)))]
    pub page_size: Option<u32>,
}
