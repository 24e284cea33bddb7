//! One file per noun; each runs its verbs against [`api::Client`] and prints the result
//! in the chosen [`Format`].

mod bench;
mod cluster;
mod dlq;
mod groups;
mod moving;
mod publish;
mod pull;
mod subscribe;
mod subscriptions;
mod topics;

use std::time::Duration;

use crate::args::{Cli, Command, Format};

/// Time allowed for a pull's answer beyond its own long-poll wait.
const PULL_ANSWER_MARGIN: Duration = Duration::from_secs(5);

/// What every command needs: a client for the server and the output format.
#[derive(Debug)]
pub struct Context {
    pub client: api::Client,
    pub format: Format,
    /// Per-request timeout, so a long-polling pull can extend it.
    pub timeout: Duration,
    /// The CA file, credentials and HTTP version every client of this run uses.
    options: api::ClientOptions,
}

impl Context {
    pub fn new(cli: &Cli) -> anyhow::Result<Self> {
        let timeout = Duration::from_secs(cli.timeout);
        let options = api::ClientOptions {
            timeout,
            ca_file: cli.security.ca_file.clone(),
            token: cli.security.token.clone(),
            http2: cli.http2,
        };
        let client = api::Client::with_options(&cli.server, &options)?;
        Ok(Self {
            client,
            format: cli.format,
            timeout,
            options,
        })
    }

    /// A client for `base_url` with its own connections, the run's CA file and
    /// credentials, and `timeout` per request.
    pub fn client_at(&self, base_url: &str, timeout: Duration) -> anyhow::Result<api::Client> {
        let options = api::ClientOptions {
            timeout,
            ..self.options.clone()
        };
        Ok(api::Client::with_options(base_url, &options)?)
    }

    /// A client for pulls that wait up to `wait_seconds`: a long poll may legitimately
    /// outlast --timeout, so it gets its wait plus a margin.
    pub fn long_poll_client(&self, wait_seconds: u32) -> anyhow::Result<api::Client> {
        let needed = Duration::from_secs(u64::from(wait_seconds)) + PULL_ANSWER_MARGIN;
        if needed > self.timeout {
            self.client_at(self.client.base_url(), needed)
        } else {
            Ok(self.client.clone())
        }
    }

    /// Like [`Context::long_poll_client`], for another server at `base_url`, with
    /// connections of its own.
    pub fn long_poll_client_at(
        &self,
        base_url: &str,
        wait_seconds: u32,
    ) -> anyhow::Result<api::Client> {
        let needed = Duration::from_secs(u64::from(wait_seconds)) + PULL_ANSWER_MARGIN;
        self.client_at(base_url, needed.max(self.timeout))
    }
}

/// Runs the command line's command to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = Context::new(&cli)?;
    match cli.command {
        Command::Topics(command) => topics::run(&ctx, command).await,
        Command::Publish(args) => publish::run(&ctx, args).await,
        Command::Subscriptions(command) => subscriptions::run(&ctx, command).await,
        Command::Pull(args) => pull::pull(&ctx, args).await,
        Command::Ack(args) => pull::ack(&ctx, args).await,
        Command::Nack(args) => pull::nack(&ctx, args).await,
        Command::Subscribe(args) => subscribe::run(&ctx, args).await,
        Command::Groups(command) => groups::run(&ctx, command).await,
        Command::Dlq(command) => dlq::run(&ctx, command).await,
        Command::Cluster(command) => cluster::run(&ctx, command).await,
        Command::Bench(args) => bench::run(&ctx, args).await,
    }
}

/// Every subscription, fetched `page_size` at a time.
async fn all_subscriptions(
    ctx: &Context,
    page_size: Option<u32>,
) -> anyhow::Result<Vec<api::types::Subscription>> {
    all_pages(|token| async move {
        let page = ctx
            .client
            .list_subscriptions(page_size, token.as_deref())
            .await?;
        Ok((page.subscriptions, page.next_page_token))
    })
    .await
}

/// Follows `nextPageToken` until the last page and returns every item.
///
/// `fetch` gets the page token (none for the first page) and answers a page's items
/// and the next token.
async fn all_pages<T, F, Fut>(mut fetch: F) -> anyhow::Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), api::ClientError>>,
{
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let (page, next) = fetch(token.clone()).await?;
        items.extend(page);
        match next.filter(|next| !next.is_empty()) {
            // A server that hands back the same token would make this loop forever.
            Some(next) if token.as_ref() == Some(&next) => {
                anyhow::bail!("the server returned page token {next:?} twice")
            }
            Some(next) => token = Some(next),
            None => return Ok(items),
        }
    }
}
