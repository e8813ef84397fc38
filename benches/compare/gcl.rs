//! eeops against googleapis' generated Operations client,
//! `google-cloud-longrunning`, over REST: both against one emulator of
//! their own, on the generic `/v1/{name=operations/**}` bindings that
//! client uses, with operations named `operations/...`.
//!
//! The emulator runs on a thread and runtime of its own
//! ([`ServerThread`]): the two clients are what is compared, not how well
//! each shares its worker threads with the server.
//!
//! Unlike the raw baselines, this peer is a whole client (its own HTTP
//! stack, retry policy, JSON types and `$alt=json;enum-encoding=int` on
//! every call), so a ratio here is eeops' cost against the best Rust client
//! of the same API, not against the bytes on the wire.

use std::sync::Arc;

use eeops::emulator::OperationSpec;
use eeops::{Client, Credentials, Routes, TransportKind};
use google_cloud_longrunning::client::Operations;

use crate::harness::{Listing, compare_latency, compare_list, compare_throughput};
use crate::server_thread::ServerThread;
use crate::sides::{
    EeopsGet, GclGet, Getter, Lister, Prepared, RawRestGet, Sides, get_previews, raw_hyper,
};
use crate::{Config, Ratio, create_done_operations, metric};

/// The parent the generic bindings list.
const PARENT: &str = "operations";

/// Operations listed by `rest_list_10k_vs_gcl` (and read by the Gets).
const LIST_COUNT: usize = 10_000;

/// Calls in flight in `rest_throughput_64_vs_gcl`.
const IN_FLIGHT: usize = 64;

/// Budget of each comparison: eeops' time over the peer's.
const BUDGET: f64 = 0.80;

/// The version of `google-cloud-longrunning` this was built with.
const PEER_VERSION: &str = "1.12.0";

/// `rest_list_10k_vs_gcl`, `rest_get_latency_vs_gcl` and
/// `rest_throughput_64_vs_gcl`, those of them that `config` wants.
pub(crate) async fn compare_with_gcl(config: &Config) -> Vec<Ratio> {
    let wanted: Vec<&str> = [
        "rest_get_latency_vs_gcl",
        "rest_throughput_64_vs_gcl",
        "rest_list_10k_vs_gcl",
    ]
    .into_iter()
    .filter(|name| config.wants(name))
    .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    eprintln!("# google-cloud-longrunning {PEER_VERSION} against the emulator");
    let server = ServerThread::start();
    let count = if config.short { 1_000 } else { LIST_COUNT };
    let names: Arc<[String]> =
        create_done_operations(server.handle(), OperationSpec::unscoped(), count).into();
    let (eeops, peer) = clients(server.endpoint()).await;

    let mut ratios = Vec::new();
    // The Gets read the first operations, as many as there are tasks in flight.
    let get_names: Arc<[String]> = names[..IN_FLIGHT.min(names.len())].into();
    // The raw HTTP/1.1 client of the other comparisons, sending what eeops
    // sends, in the same rounds: what no client can go below on this
    // server and machine (METRIC lines only).
    let prepared: Vec<Prepared> = get_previews(&eeops, &get_names)
        .iter()
        .map(Prepared::from_preview)
        .collect();
    let mut sides = Sides {
        eeops: Getter::Eeops(EeopsGet {
            client: eeops.clone(),
            names: get_names.clone(),
        }),
        raw: Getter::Gcl(GclGet {
            client: peer.clone(),
            names: get_names,
        }),
        diagnostic: Some((
            "raw_hyper",
            Getter::RawRest(RawRestGet {
                client: raw_hyper(),
                prepared: prepared.into(),
            }),
        )),
    };
    if wanted.contains(&"rest_get_latency_vs_gcl") {
        ratios.push(compare_latency("rest_get_latency_vs_gcl", BUDGET, &mut sides, config).await);
    }
    if wanted.contains(&"rest_throughput_64_vs_gcl") {
        let (ratio, _) = compare_throughput(
            "rest_throughput_64_vs_gcl",
            BUDGET,
            IN_FLIGHT,
            &mut sides,
            config,
        )
        .await;
        ratios.push(ratio);
    }
    if wanted.contains(&"rest_list_10k_vs_gcl") {
        let listing = Listing {
            parent: PARENT.to_owned(),
            count,
            first: None,
        };
        ratios.push(
            compare_list(
                "rest_list_10k_vs_gcl",
                BUDGET,
                (&Lister::Eeops(eeops.clone()), &Lister::Gcl(peer.clone())),
                config,
                (&listing, &listing),
            )
            .await,
        );
    }
    metric("gcl_operations", count as f64, "operations");
    drop((sides, eeops, peer));
    server.stop();
    ratios
}

/// eeops on the generic bindings, and the peer, both for `endpoint`.
pub(crate) async fn clients(endpoint: &str) -> (Client, Operations) {
    // The peer's HTTP stack wants a process-wide crypto provider even for
    // plaintext; it is built without its default one (this crate uses ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let eeops = Client::builder()
        .with_endpoint(endpoint)
        .with_transport(TransportKind::Rest)
        .with_routes(Routes::generic())
        .with_credentials(Credentials::anonymous())
        .build()
        .expect("an eeops client for the emulator builds");
    let peer = Operations::builder()
        .with_endpoint(endpoint)
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .build()
        .await
        .expect("google-cloud-longrunning's client builds");
    (eeops, peer)
}
