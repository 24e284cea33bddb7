//! The deployment artefacts against the server they deploy: the rendered
//! kustomize overlays (`manifests`), the seed's settings and the container
//! health check (`seed_settings`), and a StatefulSet rolling restart on real
//! processes with the production overlay's environment (`rehearsal`), and the
//! metrics the alert rules and the dashboard name against a live scrape
//! (`scrape`).
//! Rendering uses the pinned validators of `tests/tools/deployment-tools`.

mod manifests;
mod rehearsal;
mod rendered;
mod scrape;
mod secret_volumes;
mod seed_settings;
