//! The configuration table of `docs/operations.md` against the server's
//! settings (`node::config`): the same flags and `PUBSUB_*` variables both
//! ways, the defaults `--help` states, and file keys the parser accepts.

use std::collections::BTreeSet;
use std::io::Write;

use clap::CommandFactory;
use node::config::{Args, Config, ConfigError};

use crate::markdown::{Page, plain};

/// One row of the table: flag, environment variable, file key, default.
#[derive(Debug)]
struct Row {
    flag: String,
    env: String,
    file_key: Option<String>,
    default: String,
}

fn rows() -> Vec<Row> {
    Page::read("docs/operations.md")
        .table_under("## Configuration")
        .into_iter()
        .map(|cells| {
            let [flag, env, file_key, default] = <[String; 4]>::try_from(cells)
                .unwrap_or_else(|cells| panic!("a settings row has 4 cells: {cells:?}"));
            let file_key = plain(&file_key);
            Row {
                flag: plain(&flag),
                env: plain(&env),
                file_key: (file_key != "—").then_some(file_key),
                default: plain(&default),
            }
        })
        .collect()
}

/// What the server's parser declares for one setting.
#[derive(Debug)]
struct Setting {
    long: String,
    short: Option<char>,
    env: String,
    help: String,
}

fn settings() -> Vec<Setting> {
    Args::command()
        .get_arguments()
        .filter(|arg| !matches!(arg.get_id().as_str(), "help" | "version"))
        .map(|arg| Setting {
            long: arg
                .get_long()
                .expect("every setting has a long flag")
                .to_owned(),
            short: arg.get_short(),
            env: arg
                .get_env()
                .unwrap_or_else(|| panic!("--{:?} has a PUBSUB_* variable", arg.get_long()))
                .to_string_lossy()
                .into_owned(),
            help: arg.get_help().map(ToString::to_string).unwrap_or_default(),
        })
        .collect()
}

#[test_log::test]
fn every_setting_of_the_server_is_a_row_and_every_row_a_setting() {
    let rows = rows();
    let settings = settings();
    let documented: BTreeSet<&str> = rows.iter().map(|row| row.env.as_str()).collect();
    let known: BTreeSet<&str> = settings.iter().map(|s| s.env.as_str()).collect();
    let undocumented: Vec<_> = known.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&known).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "docs/operations.md's settings table and node::config::Args differ:\n\
         settings missing from the table: {undocumented:?}\n\
         rows the server does not know: {unknown:?}"
    );
    for setting in &settings {
        let row = rows
            .iter()
            .find(|row| row.env == setting.env)
            .expect("matched above");
        assert!(
            row.flag
                .split(", ")
                .any(|f| f == format!("--{}", setting.long)),
            "the row of {} names the flag --{}: {:?}",
            setting.env,
            setting.long,
            row.flag
        );
        if let Some(short) = setting.short {
            assert!(
                row.flag.split(", ").any(|f| f == format!("-{short}")),
                "the row of {} names -{short}: {:?}",
                setting.env,
                row.flag
            );
        }
    }
}

#[test_log::test]
fn every_rows_default_is_the_one_help_states() {
    let rows = rows();
    for setting in settings() {
        let Some((_, after)) = setting.help.split_once("[default: ") else {
            continue;
        };
        let default = after.split(']').next().unwrap_or_default();
        let row = rows.iter().find(|row| row.env == setting.env);
        let Some(row) = row else { continue }; // reported by the test above
        assert!(
            row.default.starts_with(default),
            "--{} defaults to {default:?} (its --help), the table says {:?}",
            setting.long,
            row.default
        );
    }
}

/// Resolves the settings from a config file holding `yaml`.
fn resolve_file(yaml: &str) -> Result<Config, ConfigError> {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(yaml.as_bytes())
        .expect("write the config file");
    Config::resolve(Args {
        config: Some(file.path().to_path_buf()),
        ..Args::default()
    })
}

/// `a.b.c` as YAML with an empty (`~`) leaf, which every setting reads as
/// "not set": only the key's name is on trial.
fn yaml_with_key(key: &str) -> String {
    key.split('.')
        .enumerate()
        .map(|(depth, part)| format!("{}{part}:", "  ".repeat(depth)))
        .collect::<Vec<_>>()
        .join("\n")
        + " ~\n"
}

#[test_log::test]
fn every_rows_file_key_is_one_the_config_file_accepts() {
    tracing::info!("arrange: the parser refuses a key it does not know, so the probe can fail");
    let refused = resolve_file(&yaml_with_key("server.no_such_key"));
    assert!(
        matches!(refused, Err(ConfigError::Parse { .. })),
        "an unknown key is refused: {refused:?}"
    );

    tracing::info!("act: each documented key, alone in a file");
    for row in rows() {
        let Some(key) = &row.file_key else { continue };
        let resolved = resolve_file(&yaml_with_key(key));
        assert!(
            resolved.is_ok(),
            "{} is documented as file key {key}, which the parser refuses: {resolved:?}",
            row.env
        );
    }
}
