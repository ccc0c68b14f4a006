//! Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, …) through Apache Arrow's
//! `object_store`. The trait is synchronous (it runs on the blocking pool beside the
//! database work), so the requests run on a small runtime of their own and every
//! operation is bounded by one deadline, retries included: a slow or unreachable store
//! gives [`StoreError::Unavailable`], never a hung request.

use std::future::Future;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, PutPayload, RetryConfig};

use super::{Blobs, StoreError};
use crate::config::ConfigError;

/// `GATEHOUSE_S3_*`: where the bucket is and how to reach it.
#[derive(Clone)]
pub struct S3Config {
    /// `http(s)://host:port` of an S3-compatible server; `None` for AWS itself.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    /// Static credentials; without them the AWS default chain (instance or task role,
    /// web identity) applies.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// `https://host/bucket/key` instead of `https://bucket.host/key` (MinIO, Ceph, moto).
    pub path_style: bool,
    /// Prepended to every object name, e.g. `gatehouse/files/`.
    pub prefix: String,
    /// Deadline of one operation, retries included.
    pub timeout: Duration,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl S3Config {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let bad = |m: &str| ConfigError(m.to_string());
        let bucket = get("GATEHOUSE_S3_BUCKET")
            .ok_or_else(|| bad("GATEHOUSE_S3_BUCKET: required when GATEHOUSE_FILE_STORE=s3"))?;
        let endpoint = get("GATEHOUSE_S3_ENDPOINT");
        if let Some(e) = &endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(bad("GATEHOUSE_S3_ENDPOINT: a URL starting with http:// or https://"));
            }
        }
        let access_key_id = get("GATEHOUSE_S3_ACCESS_KEY_ID");
        let secret_access_key = get("GATEHOUSE_S3_SECRET_ACCESS_KEY");
        if access_key_id.is_some() != secret_access_key.is_some() {
            return Err(bad(
                "GATEHOUSE_S3_ACCESS_KEY_ID: set together with GATEHOUSE_S3_SECRET_ACCESS_KEY, or neither",
            ));
        }
        let path_style = match get("GATEHOUSE_S3_PATH_STYLE").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(bad("GATEHOUSE_S3_PATH_STYLE: true or false")),
        };
        let timeout = match get("GATEHOUSE_S3_TIMEOUT_SECS") {
            None => super::DEFAULT_S3_TIMEOUT,
            Some(v) => match v.parse::<u64>() {
                Ok(s) if (1..=600).contains(&s) => Duration::from_secs(s),
                _ => return Err(bad("GATEHOUSE_S3_TIMEOUT_SECS: whole seconds between 1 and 600")),
            },
        };
        let prefix = get("GATEHOUSE_S3_PREFIX").unwrap_or_default();
        if prefix.starts_with('/') || prefix.contains("..") {
            return Err(bad("GATEHOUSE_S3_PREFIX: a relative prefix like gatehouse/files/"));
        }
        Ok(Self {
            endpoint,
            bucket,
            region: get("GATEHOUSE_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
            access_key_id,
            secret_access_key,
            path_style,
            prefix,
            timeout,
        })
    }
}

pub struct S3Blobs {
    store: AmazonS3,
    prefix: String,
    timeout: Duration,
    runtime: tokio::runtime::Handle,
}

impl S3Blobs {
    pub fn new(config: &S3Config) -> anyhow::Result<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_virtual_hosted_style_request(!config.path_style)
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(config.timeout)
                    .with_connect_timeout(config.timeout.min(Duration::from_secs(5)))
                    .with_allow_http(config.endpoint.as_deref().is_some_and(|e| e.starts_with("http://"))),
            )
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: config.timeout,
            });
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
            builder = builder.with_access_key_id(id).with_secret_access_key(secret);
        }
        let store = builder.build()?;
        // A current-thread runtime on a thread of its own drives the HTTP requests.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("gatehouse-s3".into())
            .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
        Ok(Self { store, prefix: config.prefix.clone(), timeout: config.timeout, runtime: handle })
    }

    fn path(&self, key: &str) -> Path {
        Path::from(format!("{}{key}", self.prefix))
    }

    /// Runs `op` on the store's runtime and waits for it, at most the configured timeout.
    fn run<T: Send + 'static>(
        &self,
        op: impl Future<Output = Result<T, object_store::Error>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let deadline = self.timeout;
        self.runtime.spawn(async move {
            let _ = tx.send(tokio::time::timeout(deadline, op).await);
        });
        match rx.recv() {
            Ok(Ok(result)) => result.map_err(classify),
            Ok(Err(_elapsed)) => Err(StoreError::Unavailable(format!("no answer within {} s", deadline.as_secs()))),
            Err(_) => Err(StoreError::Unavailable("the S3 client runtime stopped".into())),
        }
    }
}

/// Not found is the object's absence; everything else that is not the request's fault
/// (connection refused or reset, timeouts, 5xx after retries) is an outage.
fn classify(e: object_store::Error) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::NotFound,
        object_store::Error::Generic { .. } => StoreError::Unavailable(e.to_string()),
        other => StoreError::Other(other.to_string()),
    }
}

impl Blobs for S3Blobs {
    fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let (store, path) = (self.store.clone(), self.path(key));
        self.run(async move { store.put(&path, PutPayload::from(bytes)).await.map(|_| ()) })
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let (store, path) = (self.store.clone(), self.path(key));
        self.run(async move { Ok(store.get(&path).await?.bytes().await?.to_vec()) })
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let (store, path) = (self.store.clone(), self.path(key));
        self.run(async move {
            match store.delete(&path).await {
                Err(object_store::Error::NotFound { .. }) => Ok(()),
                other => other,
            }
        })
    }
}
