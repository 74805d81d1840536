//! Group commit: concurrent single writes of one kind share one transaction.
//!
//! Each caller adds its item to a pending list and waits for its answer or its turn to lead,
//! whichever comes first. The leader takes every pending item (its own among them) and commits
//! them together; each caller gets its own result, and only once its item is committed. Under load a
//! transaction (and, on PostgreSQL, a WAL flush) is paid per group instead of per item; alone, a
//! caller commits at once, as before.
//!
//! The commit runs in a task of its own, so a caller that goes away (a client hanging up) never
//! cuts a group's commit short: the others still get their answers.

use std::future::Future;
use std::sync::{Mutex, PoisonError};

use messenger_store::StoreError;
use tokio::sync::oneshot;

type Waiter<R> = oneshot::Sender<Result<R, StoreError>>;

/// The pending items of one kind of write and the leader's turn.
pub(crate) struct GroupCommit<T, R> {
    pending: Mutex<Vec<(T, Waiter<R>)>>,
    leader: tokio::sync::Mutex<()>,
}

impl<T, R> std::fmt::Debug for GroupCommit<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl<T, R> Default for GroupCommit<T, R> {
    fn default() -> Self {
        Self {
            pending: Mutex::new(Vec::new()),
            leader: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> GroupCommit<T, R> {
    /// Writes `item` with the others pending: `commit` gets the group, in arrival order, and
    /// answers one result per item, in the same order.
    pub(crate) async fn submit<F, Fut>(&self, item: T, commit: F) -> Result<R, StoreError>
    where
        F: FnOnce(Vec<T>) -> Fut,
        Fut: Future<Output = Vec<Result<R, StoreError>>> + Send + 'static,
    {
        let (waiter, mut answer) = oneshot::channel();
        self.lock_pending().push((item, waiter));
        let answered = tokio::select! {
            biased;
            // An earlier leader took the item and committed it.
            answered = &mut answer => answered,
            turn = self.leader.lock() => {
                let group = std::mem::take(&mut *self.lock_pending());
                if !group.is_empty() {
                    let (items, waiters): (Vec<T>, Vec<Waiter<R>>) = group.into_iter().unzip();
                    let committing = commit(items);
                    let answering = tokio::spawn(async move {
                        let results = committing.await;
                        for (waiter, result) in waiters.into_iter().zip(results) {
                            // The caller may have gone; its item is committed all the same.
                            let _ = waiter.send(result);
                        }
                    });
                    // Holding the turn until the group is answered keeps groups in order.
                    let _ = answering.await;
                }
                drop(turn);
                answer.await
            }
        };
        answered.unwrap_or_else(|_| {
            Err(StoreError::Unavailable {
                message: "a group commit ended without an answer".to_owned(),
                source: None,
            })
        })
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Vec<(T, Waiter<R>)>> {
        // Nothing panics while the lock is held; a poisoned list is still a valid list.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_items_share_commits_and_get_their_own_results() {
        let group: Arc<GroupCommit<u32, u32>> = Arc::new(GroupCommit::default());
        let commits = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..200u32)
            .map(|i| {
                let (group, commits) = (Arc::clone(&group), Arc::clone(&commits));
                tokio::spawn(async move {
                    group
                        .submit(i, |items| {
                            commits.fetch_add(1, Ordering::Relaxed);
                            async move {
                                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                                items
                                    .into_iter()
                                    .map(|n| {
                                        if n == 7 {
                                            Err(StoreError::invalid("seven"))
                                        } else {
                                            Ok(n * 10)
                                        }
                                    })
                                    .collect()
                            }
                        })
                        .await
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            let got = t.await.unwrap();
            if i == 7 {
                assert!(matches!(got, Err(StoreError::Invalid { .. })), "{got:?}");
            } else {
                assert_eq!(got.unwrap(), i as u32 * 10);
            }
        }
        let commits = commits.load(Ordering::Relaxed);
        assert!(
            commits < 200,
            "every item committed alone ({commits} commits)"
        );
    }

    #[tokio::test]
    async fn a_short_answer_is_an_error_not_a_hang() {
        let group: GroupCommit<u32, u32> = GroupCommit::default();
        let got = group.submit(1, |_| async { Vec::new() }).await;
        assert!(
            matches!(got, Err(StoreError::Unavailable { .. })),
            "{got:?}"
        );
    }
}
