//! [`FaultProxy`]: a TCP proxy in front of one listener that a test turns
//! into a network fault, for every client or for chosen source addresses.
//!
//! It needs no root: whoever should suffer the fault dials the proxy instead
//! of the listener. [`TestCluster::start_behind_proxies`](crate::TestCluster::start_behind_proxies)
//! puts one in front of each node's peer port and gives each node its own
//! loopback source address, so one node's peer traffic can be cut in both
//! directions while its clients still reach it. It works on byte streams: no
//! packet loss or reordering inside a connection, and only traffic that dials
//! through it is affected.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::{CancellationToken, DropGuard};

/// What the proxy does to a connection under a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Refuse: new connections are closed with a reset at once, open ones
    /// are reset (a crashed peer, a firewall that rejects).
    Reset,
    /// Swallow: new connections are accepted and never answered, open ones
    /// stop carrying bytes (a silent partition: callers time out). Held
    /// connections are closed when the fault is healed.
    Blackhole,
}

/// Which faults hold now.
#[derive(Debug, Clone, Default)]
struct Rules {
    every_source: Option<Fault>,
    by_source: HashMap<IpAddr, Fault>,
}

impl Rules {
    fn fault_for(&self, source: IpAddr) -> Option<Fault> {
        self.by_source.get(&source).copied().or(self.every_source)
    }
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    rules: watch::Sender<Rules>,
    _stop: DropGuard,
}

impl FaultProxy {
    /// Listens on a free loopback port and passes every connection on to
    /// `upstream` until a fault is set.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let rules = watch::Sender::new(Rules::default());
        let stop = CancellationToken::new();
        tokio::spawn(accept_loop(
            listener,
            upstream,
            rules.subscribe(),
            stop.clone(),
        ));
        Ok(Self {
            addr,
            upstream,
            rules,
            _stop: stop.drop_guard(),
        })
    }

    /// Where clients dial to go through the proxy.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The listener the proxy passes connections on to.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// Applies `fault` to every client.
    pub fn cut_all(&self, fault: Fault) {
        self.rules.send_modify(|r| r.every_source = Some(fault));
    }

    /// Applies `fault` to clients connecting from `source`.
    pub fn cut_from(&self, source: IpAddr, fault: Fault) {
        self.rules.send_modify(|r| {
            r.by_source.insert(source, fault);
        });
    }

    /// Lifts every fault; held connections are closed, new ones pass.
    pub fn heal(&self) {
        self.rules.send_replace(Rules::default());
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    rules: watch::Receiver<Rules>,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => return,
        };
        match accepted {
            Ok((client, from)) => {
                tokio::spawn(connection(
                    client,
                    from.ip(),
                    upstream,
                    rules.clone(),
                    stop.clone(),
                ));
            }
            Err(e) => tracing::debug!(error = %e, "fault proxy: accept failed"),
        }
    }
}

/// Carries one client connection, until it ends or a fault catches it.
async fn connection(
    mut client: TcpStream,
    source: IpAddr,
    upstream: SocketAddr,
    mut rules: watch::Receiver<Rules>,
    stop: CancellationToken,
) {
    let faulted = |r: &Rules| r.fault_for(source);
    let fault = faulted(&rules.borrow_and_update());
    let fault = match fault {
        Some(fault) => fault,
        None => {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                reset(client);
                return;
            };
            let caught = tokio::select! {
                // A fault set before bytes arrive stops them: look at it first.
                biased;
                changed = rules.wait_for(|r| faulted(r).is_some()) => {
                    changed.ok().and_then(|r| faulted(&r))
                }
                () = stop.cancelled() => None,
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => None,
            };
            match caught {
                Some(fault) => fault,
                None => return,
            }
        }
    };
    match fault {
        Fault::Reset => reset(client),
        Fault::Blackhole => {
            // Hold the socket unread until healed, then close it.
            tokio::select! {
                _ = rules.wait_for(|r| faulted(r).is_none()) => {}
                () = stop.cancelled() => {}
            }
        }
    }
}

/// Closes with a reset rather than a clean end of stream.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpSocket;

    use super::*;

    /// How long a round trip may take before it counts as held.
    const HELD: Duration = Duration::from_millis(500);

    /// An upstream that echoes every byte it reads.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut rx, mut tx) = stream.split();
                    let _ = tokio::io::copy(&mut rx, &mut tx).await;
                });
            }
        });
        addr
    }

    /// A connection to `to` from the loopback address `from`.
    async fn dial(to: SocketAddr, from: [u8; 4]) -> TcpStream {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::from((from, 0)))
            .expect("bind the source");
        socket.connect(to).await.expect("connect")
    }

    /// Whether `ping` comes back on `stream` within [`HELD`].
    async fn echoes(stream: &mut TcpStream) -> bool {
        let answer = async {
            stream.write_all(b"ping").await?;
            let mut back = [0u8; 4];
            stream.read_exact(&mut back).await?;
            Ok::<_, std::io::Error>(back)
        };
        matches!(tokio::time::timeout(HELD, answer).await, Ok(Ok(back)) if &back == b"ping")
    }

    #[test_log::test(tokio::test)]
    async fn a_reset_refuses_new_and_open_connections_until_healed() {
        let proxy = FaultProxy::start(echo_server().await).await.expect("proxy");
        let mut open = dial(proxy.addr(), [127, 0, 0, 1]).await;
        assert!(echoes(&mut open).await, "passes before the fault");

        proxy.cut_all(Fault::Reset);
        assert!(!echoes(&mut open).await, "an open connection is cut");
        let mut fresh = dial(proxy.addr(), [127, 0, 0, 1]).await;
        assert!(!echoes(&mut fresh).await, "a new connection is refused");

        proxy.heal();
        let mut healed = dial(proxy.addr(), [127, 0, 0, 1]).await;
        assert!(echoes(&mut healed).await, "passes after the heal");
    }

    #[test_log::test(tokio::test)]
    async fn a_cut_by_source_spares_the_other_sources() {
        let proxy = FaultProxy::start(echo_server().await).await.expect("proxy");
        proxy.cut_from(IpAddr::from([127, 0, 0, 11]), Fault::Reset);
        let mut cut = dial(proxy.addr(), [127, 0, 0, 11]).await;
        let mut spared = dial(proxy.addr(), [127, 0, 0, 12]).await;
        assert!(!echoes(&mut cut).await, "the named source is cut");
        assert!(echoes(&mut spared).await, "another source passes");
    }

    #[test_log::test(tokio::test)]
    async fn a_blackhole_holds_connections_open_without_answering() {
        let proxy = FaultProxy::start(echo_server().await).await.expect("proxy");
        let mut open = dial(proxy.addr(), [127, 0, 0, 1]).await;
        assert!(echoes(&mut open).await, "passes before the fault");

        proxy.cut_all(Fault::Blackhole);
        let mut fresh = dial(proxy.addr(), [127, 0, 0, 1]).await;
        assert!(
            !echoes(&mut fresh).await,
            "a new connection is never answered"
        );
        assert!(
            !echoes(&mut open).await,
            "an open connection stops carrying bytes"
        );

        proxy.heal();
        let mut healed = dial(proxy.addr(), [127, 0, 0, 1]).await;
        assert!(echoes(&mut healed).await, "passes after the heal");
    }
}
