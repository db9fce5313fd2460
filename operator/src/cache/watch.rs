//! How a feed lists and watches its kind: in pages, for ever, retried with backoff.

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use kube::Api;
use kube::runtime::watcher::{self, Event};

use super::{ClusterCache, Feed, apply_event};

/// Objects per page of a feed's list. A page is held whole, managed fields and statuses
/// included, until its last object is cached: at kube-runtime's default of 500 the pages of
/// three kinds listed at once were most of the operator's peak heap at 2,000 systems.
/// 10,000 objects take 100 requests at this size, a second or so of the API server's time.
const LIST_PAGE: u32 = 100;

/// How long the API server keeps one watch open before ending it. kube-runtime gives up on
/// a watch that stays silent 5 s longer than this and watches again from where it was (no
/// list), so a watch on an API server that died without closing the connection (its node
/// lost, a middlebox dropping the flow) is abandoned after 55 s. kube-runtime's default of
/// 290 s let the webhook decide from a view stopped at the failure for five minutes.
const WATCH_SECONDS: u32 = 50;

/// Longest the operator's requests wait in silence for the API server, above its own 60 s
/// limit for an ordinary request. The watch started again after a silent one may go out on
/// an idle pooled connection to the same dead server; without a read limit (kube sets none)
/// it would wait until TCP gives up on the unacknowledged request (about 15 minutes for a
/// lost node), with the feed still counted as synced.
const SILENCE_LIMIT: Duration = Duration::from_secs(65);

/// Longest a new connection to the API server may take, TLS handshake included (kube's
/// default is 30 s).
const CONNECT_LIMIT: Duration = Duration::from_secs(10);

/// Longest a feed on a silent API server can count as synced: its watch abandoned, then the
/// new watch's request failing. After it the feed is unsynced (enforcing namespaces refuse,
/// `/readyz` fails) and lists again, over a new connection.
pub const SILENCE_BOUND: Duration =
    Duration::from_secs(WATCH_SECONDS as u64 + 5 + SILENCE_LIMIT.as_secs());

/// `config` with the limits above: the client every feed watches with must be built from it.
pub fn with_silence_limit(mut config: kube::Config) -> kube::Config {
    config.read_timeout = Some(SILENCE_LIMIT);
    config.connect_timeout = Some(CONNECT_LIMIT);
    config
}

/// How every feed lists and watches: pages of [`LIST_PAGE`] objects, each watch ended by
/// the API server after [`WATCH_SECONDS`].
pub(crate) fn feed_config() -> watcher::Config {
    watcher::Config::default()
        .page_size(LIST_PAGE)
        .timeout(WATCH_SECONDS)
}

/// First and longest pause before a failed watch is started again.
const RETRY: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(30));

/// Follows one kind for ever, feeding the cache. A watch that fails (the API server
/// restarted, the connection dropped, the history expired) leaves the kind unsynced until a
/// fresh list has replaced its view: the view may lack a change made meanwhile, such as a
/// revoked approval, so until then enforcing namespaces refuse and the webhook is not ready.
/// Retried with backoff (0.5 s doubling to 30 s, back to 0.5 s after a list succeeds).
pub async fn follow<K: Feed>(api: Api<K>, config: watcher::Config, cache: Arc<ClusterCache>) {
    let mut delay = RETRY.0;
    loop {
        let stream = watcher::watcher(api.clone(), config.clone());
        if drive(stream, &cache).await {
            delay = RETRY.0;
        }
        cache.expect(K::FEED);
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(RETRY.1);
    }
}

/// Feeds the cache until the watch fails; whether it listed (and so synced) meanwhile.
async fn drive<K: Feed>(
    stream: impl Stream<Item = Result<Event<K>, watcher::Error>>,
    cache: &ClusterCache,
) -> bool {
    let mut stream = std::pin::pin!(stream);
    let mut buffer = Vec::new();
    let mut listed = false;
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) => {
                listed |= matches!(event, Event::InitDone);
                apply_event(cache, &mut buffer, event);
            }
            Err(error) => {
                let text = error.to_string();
                let hint = if text.contains("404") || text.contains("NotFound") {
                    "the API does not serve this kind: are the aims.io CRDs installed (kubectl apply -f crds/)?"
                } else if text.contains("403") || text.contains("Forbidden") {
                    "the service account may not list or watch this kind: check the ClusterRole"
                } else {
                    "enforcing namespaces refuse and the webhook is not ready until this kind is listed again"
                };
                tracing::warn!(feed = K::FEED, %error, hint, "watch failed; listing again after a pause");
                return listed;
            }
        }
    }
    listed
}
