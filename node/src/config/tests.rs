//! Settings resolution: precedence, file errors, Redis and cluster settings.

use ::cluster::NodeId;
use std::ffi::OsString;

use super::*;
use crate::storage::redis::RedisTarget;

/// A YAML file in the temp dir, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("pubsubgo-{}-{name}.yaml", std::process::id()));
        std::fs::write(&path, text).expect("write temp config");
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn with_file(file: &TempFile) -> Args {
    Args {
        config: Some(file.0.clone()),
        ..Args::default()
    }
}

#[test]
fn defaults_need_no_input() {
    let config = Config::resolve(Args::default()).expect("defaults resolve");
    assert_eq!(config.client_addr.port(), 8081);
    assert_eq!(config.metrics_addr.map(|a| a.port()), Some(9092));
    assert_eq!(config.storage, StorageConfig::Memory);
    assert_eq!(config.log_format, LogFormat::Text);
}

#[test]
fn worker_threads_default_to_the_runtime_s_and_refuse_zero() {
    assert_eq!(
        Config::resolve(Args::default())
            .expect("defaults")
            .worker_threads,
        None
    );
    let file = TempFile::new("workers", "server:\n  worker_threads: 1\n");
    assert_eq!(
        Config::resolve(with_file(&file))
            .expect("resolves")
            .worker_threads,
        Some(1)
    );
    let zero = Args {
        worker_threads: Some(0),
        ..Args::default()
    };
    let error = Config::resolve(zero).expect_err("0 threads refused");
    assert!(error.to_string().contains("at least 1"), "{error}");
}

#[test]
fn flag_beats_file_beats_default() {
    let file = TempFile::new(
        "precedence",
        "server:\n  port: 7000\nmetrics:\n  port: 7001\nlog:\n  format: json\n",
    );
    let args = Args {
        port: Some(6000),
        ..with_file(&file)
    };
    let config = Config::resolve(args).expect("resolves");
    assert_eq!(config.client_addr.port(), 6000, "flag wins over file");
    assert_eq!(
        config.metrics_addr.map(|a| a.port()),
        Some(7001),
        "file wins over default"
    );
    assert_eq!(config.log_format, LogFormat::Json);
}

#[test]
fn unknown_key_is_an_error_naming_it() {
    let file = TempFile::new("unknown", "server:\n  prot: 7000\n");
    let err = Config::resolve(with_file(&file)).expect_err("unknown key");
    assert!(err.to_string().contains("prot"), "{err}");
    let file = TempFile::new("unknown-section", "srever:\n  port: 7000\n");
    let err = Config::resolve(with_file(&file)).expect_err("unknown section");
    assert!(err.to_string().contains("srever"), "{err}");
}

#[test]
fn conflicting_or_unavailable_settings_are_refused() {
    let same_ports = Args {
        port: Some(9000),
        metrics_port: Some(9000),
        ..Args::default()
    };
    assert!(Config::resolve(same_ports).is_err());
    let both = Args {
        storage: Some(StorageKind::Redis),
        redis_url: Some("redis://a:1".to_owned()),
        redis_cluster_nodes: Some("b:2".to_owned()),
        ..Args::default()
    };
    assert!(Config::resolve(both).is_err());
}

#[test]
fn redis_settings_come_from_url_host_or_cluster_nodes() {
    let redis = |args: Args| match Config::resolve(Args {
        storage: Some(StorageKind::Redis),
        ..args
    })
    .expect("resolves")
    .storage
    {
        StorageConfig::Redis(settings) => settings,
        StorageConfig::Memory => panic!("expected redis"),
    };
    let defaults = redis(Args::default());
    assert_eq!(
        defaults.target,
        RedisTarget::Standalone {
            url: "redis://127.0.0.1:6379".to_owned()
        }
    );
    assert_eq!(defaults.key_prefix, "ps");
    let host = redis(Args {
        redis_host: Some("redis".to_owned()),
        redis_port: Some(7000),
        redis_password: Some("secret".to_owned()),
        ..Args::default()
    });
    assert_eq!(
        (host.target, host.password.as_deref()),
        (
            RedisTarget::Standalone {
                url: "redis://redis:7000".to_owned()
            },
            Some("secret")
        )
    );
    let file = TempFile::new(
        "redis-cluster",
        "storage:\n  kind: redis\n  redis:\n    cluster_nodes: \"n1:7000, n2:7001\"\n    response_timeout_millis: 500\n",
    );
    let cluster = redis(with_file(&file));
    assert_eq!(
        cluster.target,
        RedisTarget::Cluster {
            nodes: vec!["n1:7000".to_owned(), "n2:7001".to_owned()]
        }
    );
    assert_eq!(cluster.response_timeout, Duration::from_millis(500));
}

#[test]
fn cluster_peers_come_from_the_list_and_name_this_node() {
    let file = TempFile::new(
        "cluster",
        "cluster:\n  node_id: 2\n  peers: \"1=a:8082, 2=b:8082,3=c:8082\"\n  owner_timeout_seconds: 3\n",
    );
    let cluster = Config::resolve(with_file(&file)).expect("resolves").cluster;
    assert_eq!(cluster.node_id, NodeId::new(2));
    assert_eq!(cluster.advertised(), "b:8082");
    assert_eq!(
        cluster.peers.into_iter().collect::<Vec<_>>(),
        vec![
            (NodeId::new(1), "a:8082".to_owned()),
            (NodeId::new(3), "c:8082".to_owned())
        ]
    );
    assert_eq!(cluster.owner_timeout, Duration::from_secs(3));
    let single = Config::resolve(Args::default()).expect("resolves").cluster;
    assert!(single.peers.is_empty());
    assert_eq!(single.advertised(), "0.0.0.0:8082");
}

#[test]
fn bad_cluster_settings_are_refused_with_a_reason() {
    let refused = |args: Args| match Config::resolve(args) {
        Err(ConfigError::Invalid(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let peers = |list: &str| Args {
        node_id: Some(4),
        peers: Some(list.to_owned()),
        ..Args::default()
    };
    assert!(refused(peers("1=a:8082")).contains("advertise"));
    assert!(refused(peers("1=a")).contains("host and a port"));
    assert!(refused(peers("x=a:1")).contains("not a number"));
    assert!(refused(peers("1=a:1,1=b:2")).contains("twice"));
    let too_many = Args {
        bootstrap_expect: Some(3),
        ..peers("1=a:1,4=d:1")
    };
    assert!(refused(too_many).contains("bootstrap expect"));
    let joining = Args {
        advertise_addr: Some("d:8082".to_owned()),
        ..peers("1=a:8082")
    };
    let member = Config::resolve(joining).expect("resolves").cluster;
    assert_eq!(member.advertised(), "d:8082");
    assert!(!member.voter, "a node outside the peer list is no voter");
    assert!(
        Config::resolve(peers("1=a:8082,4=d:8082"))
            .expect("resolves")
            .cluster
            .voter
    );
}

#[test]
fn node_id_is_a_number_or_a_statefulset_pod_name() {
    let id = |text: &str| text.parse::<NodeIdSetting>().map(|id| id.0);
    assert_eq!(id("2"), Ok(2));
    assert_eq!(id("pubsubgo-2"), Ok(2), "the ordinal of a pod name");
    assert_eq!(id("dev-pubsubgo-10"), Ok(10), "a prefixed name");
    for bad in [
        "",
        "pubsubgo",
        "pubsubgo-",
        "-2",
        "pubsubgo-+2",
        "pubsubgo-2a",
    ] {
        let err = id(bad).expect_err(bad);
        assert!(err.contains("pod name"), "{bad:?}: {err}");
    }
    let file = TempFile::new("pod-name", "cluster:\n  node_id: pubsubgo-1\n");
    assert_eq!(
        Config::resolve(with_file(&file))
            .expect("resolves")
            .cluster
            .node_id,
        ::cluster::NodeId::new(1)
    );
}

#[test]
fn redis_settings_without_a_storage_kind_choose_redis() {
    // The seed's environment block names Redis but not PUBSUB_STORAGE.
    let seed = Args {
        redis_host: Some("redis".to_owned()),
        redis_password: Some("secret".to_owned()),
        metrics_port: Some(9092),
        ..Args::default()
    };
    match Config::resolve(seed).expect("resolves").storage {
        StorageConfig::Redis(settings) => {
            assert_eq!(
                settings.target,
                RedisTarget::Standalone {
                    url: "redis://redis:6379".to_owned()
                }
            );
            assert_eq!(settings.password.as_deref(), Some("secret"));
        }
        StorageConfig::Memory => panic!("Redis settings fell back to memory"),
    }
    let file = TempFile::new("redis-implied", "storage:\n  redis:\n    port: 7000\n");
    assert_eq!(
        Config::resolve(with_file(&file))
            .expect("resolves")
            .storage
            .kind(),
        StorageKind::Redis
    );
    let explicit = Args {
        storage: Some(StorageKind::Memory),
        redis_host: Some("redis".to_owned()),
        ..Args::default()
    };
    assert_eq!(
        Config::resolve(explicit).expect("resolves").storage,
        StorageConfig::Memory,
        "an explicit memory choice wins"
    );
}

#[test]
fn the_seeds_single_dash_config_flag_means_config() {
    let parse = |args: &[&str]| {
        Args::try_parse_from(accept_single_dash_config(args.iter().map(OsString::from)))
            .map(|args| args.config)
    };
    let expected = Some(PathBuf::from("config.yaml"));
    assert_eq!(
        parse(&["pubsubgo-server", "-config", "config.yaml"]).expect("parses"),
        expected
    );
    assert_eq!(
        parse(&["pubsubgo-server", "-config=config.yaml"]).expect("parses"),
        expected
    );
    assert_eq!(
        parse(&["pubsubgo-server", "-c", "config.yaml"]).expect("parses"),
        expected
    );
}

#[test]
fn the_example_config_file_loads_with_its_documented_values() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deployments/config.yaml");
    let config = Config::resolve(Args {
        config: Some(example),
        ..Args::default()
    })
    .expect("deployments/config.yaml resolves");
    let defaults = Config::resolve(Args::default()).expect("defaults resolve");
    match &config.storage {
        StorageConfig::Redis(settings) => assert_eq!(
            settings.target,
            RedisTarget::Standalone {
                url: "redis://redis:6379".to_owned()
            }
        ),
        StorageConfig::Memory => panic!("the example chooses Redis"),
    }
    assert_eq!(
        Config {
            storage: StorageConfig::Memory,
            ..config
        },
        defaults,
        "every other key in the example is its default"
    );
}

#[test]
fn redis_connections_default_to_two_and_must_be_1_to_16() {
    let redis = |connections: Option<usize>| {
        Config::resolve(Args {
            storage: Some(StorageKind::Redis),
            redis_connections: connections,
            ..Args::default()
        })
    };
    let connections = |config: Config| match config.storage {
        StorageConfig::Redis(settings) => settings.connections,
        StorageConfig::Memory => panic!("expected redis"),
    };
    assert_eq!(connections(redis(None).expect("default")), 2);
    assert_eq!(connections(redis(Some(16)).expect("16")), 16);
    for refused in [0, 17] {
        let error = redis(Some(refused)).expect_err("refused");
        assert!(error.to_string().contains("1 to 16"), "{error}");
    }
}
