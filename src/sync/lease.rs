//! The run lock as one invocation holds it: a random owner name, renewal by elapsed time, and
//! noticing when another invocation has taken over.
//!
//! Both cron schedules fire in the same minute, so the owner carries a nonce from the runtime's
//! random source; two invocations never share a name, and so never both hold the lock.

use crate::store::{StoreError, SyncStore};
use crate::time::EpochMs;

/// How long a run's lock lasts without renewal: past a Worker's longest invocation, so a crashed
/// run blocks the next for this long at most.
pub const LOCK_LEASE_MS: u64 = 15 * 60 * 1000;
/// Renew once this much of the lease has passed: every unit of work (a block, an export poll, an
/// organization's page) then starts with at least two thirds of a lease ahead of it.
pub const RENEW_AFTER_MS: u64 = LOCK_LEASE_MS / 3;

/// Why a held lease could not be kept.
#[derive(Debug)]
pub enum LeaseError {
    /// Another invocation holds the lock now: this one must write nothing more.
    Lost,
    /// The database failed.
    Store(StoreError),
}

/// The lock name for one invocation: its trigger, when it started, and a random nonce.
pub fn owner_name(trigger: &str, now: EpochMs, nonce: u64) -> String {
    format!("{trigger}-{now}-{nonce:016x}")
}

/// The lock as this invocation holds it.
#[derive(Debug, Clone)]
pub struct Lease {
    owner: String,
    renewed_at: EpochMs,
}

impl Lease {
    /// Takes the lock for `owner`, or `None` when another owner holds an unexpired lease.
    ///
    /// # Errors
    /// Any database failure.
    pub async fn take<S: SyncStore>(
        store: &S,
        owner: String,
        now: EpochMs,
    ) -> Result<Option<Self>, StoreError> {
        Ok(store
            .try_lock(&owner, now, LOCK_LEASE_MS)
            .await?
            .then_some(Self {
                owner,
                renewed_at: now,
            }))
    }

    /// The owner name.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Whether enough of the lease has passed that the next unit of work must renew it first.
    pub fn due(&self, now: EpochMs) -> bool {
        now.saturating_sub(self.renewed_at) >= RENEW_AFTER_MS
    }

    /// Called before each unit of work: renews the lease when it is due.
    ///
    /// # Errors
    /// [`LeaseError::Lost`] when another invocation took the lock (ours expired): the caller
    /// stops and writes nothing more.
    pub async fn keep<S: SyncStore>(&mut self, store: &S, now: EpochMs) -> Result<(), LeaseError> {
        if !self.due(now) {
            return Ok(());
        }
        match store.try_lock(&self.owner, now, LOCK_LEASE_MS).await {
            Ok(true) => {
                self.renewed_at = now;
                Ok(())
            }
            Ok(false) => Err(LeaseError::Lost),
            Err(e) => Err(LeaseError::Store(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::block_on;
    use crate::testing::memory::MemoryStore;

    #[test]
    fn owners_differ_by_nonce_within_the_same_millisecond() {
        assert_ne!(owner_name("cron", 5, 1), owner_name("cron", 5, 2));
        assert_eq!(owner_name("cron", 5, 255), "cron-5-00000000000000ff");
    }

    #[test]
    fn a_lease_renews_only_when_due_and_notices_a_takeover() {
        let store = MemoryStore::default();
        let mut lease = block_on(Lease::take(&store, "a".into(), 0))
            .unwrap()
            .unwrap();
        assert!(
            block_on(Lease::take(&store, "b".into(), 1))
                .unwrap()
                .is_none()
        );
        // Not due: no query, the expiry stays.
        block_on(lease.keep(&store, RENEW_AFTER_MS - 1)).unwrap();
        assert_eq!(store.lock.borrow().as_ref().unwrap().1, LOCK_LEASE_MS);
        block_on(lease.keep(&store, RENEW_AFTER_MS)).unwrap();
        assert_eq!(
            store.lock.borrow().as_ref().unwrap().1,
            RENEW_AFTER_MS + LOCK_LEASE_MS
        );
        // Ours lapsed and "b" took it: the next renewal reports the loss and changes nothing.
        let later = RENEW_AFTER_MS + LOCK_LEASE_MS;
        assert!(
            block_on(Lease::take(&store, "b".into(), later))
                .unwrap()
                .is_some()
        );
        let r = block_on(lease.keep(&store, later + 1));
        assert!(matches!(r, Err(LeaseError::Lost)), "{r:?}");
        assert_eq!(store.lock.borrow().as_ref().unwrap().0, "b");
    }
}
