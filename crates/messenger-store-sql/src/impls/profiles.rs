//! [`ProfileStore`](messenger_store::ProfileStore) for a SQL backend, written once for both.

/// Implements `ProfileStore` for `$store` (database `$db`); `$lock` is the row-lock suffix of
/// a select-for-update (`" FOR UPDATE"` on PostgreSQL, empty on SQLite, whose write
/// transactions are exclusive), and `$claim` the statement that serialises the writers of one
/// Messenger ID within a transaction (a PostgreSQL advisory lock; `None` on SQLite).
macro_rules! impl_profile_store {
    ($store:ty, $db:ty, lock = $lock:literal, claim = $claim:expr) => {
        impl $store {
            /// Takes the transaction-long claim on `psid` of `space`, so that two writers of the
            /// same Messenger ID (a `PUT` and a link, two `PUT`s) run one after the other.
            async fn claim_messenger_id(
                tx: &mut sqlx::Transaction<'static, $db>,
                space: &str,
                psid: &str,
            ) -> Result<(), messenger_store::StoreError> {
                let claim: Option<&str> = $claim;
                if let Some(sql) = claim {
                    sqlx::query(sql)
                        .bind(format!("{space}\u{1f}{psid}"))
                        .execute(&mut **tx)
                        .await
                        .map_err(crate::error::db("claiming a Messenger ID"))?;
                }
                Ok(())
            }

            /// Refuses `profile`'s `fbMessengerId` when another profile of `space` holds it.
            async fn check_messenger_id_free(
                tx: &mut sqlx::Transaction<'static, $db>,
                space: &str,
                profile: &messenger_model::Profile,
            ) -> Result<(), messenger_store::StoreError> {
                let Some(psid) = profile.fb_messenger_id.as_deref() else {
                    return Ok(());
                };
                Self::claim_messenger_id(tx, space, psid).await?;
                let holder: Option<String> = sqlx::query_scalar(
                    "SELECT id FROM profiles WHERE space = $1 AND fb_messenger_id = $2 \
                     AND id <> $3 ORDER BY id LIMIT 1",
                )
                .bind(space)
                .bind(psid)
                .bind(&profile.id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(crate::error::db("finding a profile by Messenger ID"))?;
                match holder {
                    Some(profile_id) => {
                        Err(messenger_store::StoreError::MessengerIdTaken { profile_id })
                    }
                    None => Ok(()),
                }
            }

            async fn load_profile_locked(
                tx: &mut sqlx::Transaction<'static, $db>,
                space: &str,
                id: &str,
            ) -> Result<Option<messenger_model::Profile>, messenger_store::StoreError> {
                let body: Option<String> = sqlx::query_scalar(concat!(
                    "SELECT body FROM profiles WHERE space = $1 AND id = $2",
                    $lock
                ))
                .bind(space)
                .bind(id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(crate::error::db("reading a profile"))?;
                body.as_deref()
                    .map(crate::rows::profile_from_json)
                    .transpose()
            }

            /// The profile, created empty if missing, locked for this transaction. (Inserting
            /// first makes concurrent creators wait for each other instead of overwriting.)
            async fn ensure_profile_locked(
                tx: &mut sqlx::Transaction<'static, $db>,
                space: &str,
                id: &str,
            ) -> Result<messenger_model::Profile, messenger_store::StoreError> {
                let empty = messenger_model::Profile::new(id);
                sqlx::query(
                    "INSERT INTO profiles (space, id, body) VALUES ($1, $2, $3) \
                     ON CONFLICT (space, id) DO NOTHING",
                )
                .bind(space)
                .bind(id)
                .bind(crate::rows::to_json("profile", &empty)?)
                .execute(&mut **tx)
                .await
                .map_err(crate::error::db("creating a profile"))?;
                Ok(Self::load_profile_locked(tx, space, id)
                    .await?
                    .unwrap_or(empty))
            }

            async fn save_profile(
                tx: &mut sqlx::Transaction<'static, $db>,
                space: &str,
                profile: &messenger_model::Profile,
            ) -> Result<(), messenger_store::StoreError> {
                let body = crate::rows::to_json("profile", profile)?;
                sqlx::query(
                    "INSERT INTO profiles (space, id, body, fb_messenger_id, phone_number) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (space, id) DO UPDATE SET \
                     body = excluded.body, fb_messenger_id = excluded.fb_messenger_id, \
                     phone_number = excluded.phone_number",
                )
                .bind(space)
                .bind(&profile.id)
                .bind(body)
                .bind(profile.fb_messenger_id.as_deref())
                .bind(profile.phone_number.as_deref())
                .execute(&mut **tx)
                .await
                .map_err(crate::error::db("writing a profile"))?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl messenger_store::ProfileStore for $store {
            async fn get_profile(
                &self,
                space: &str,
                id: &str,
            ) -> Result<Option<messenger_model::Profile>, messenger_store::StoreError> {
                let body: Option<String> =
                    sqlx::query_scalar("SELECT body FROM profiles WHERE space = $1 AND id = $2")
                        .bind(space)
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(crate::error::db("reading a profile"))?;
                body.as_deref()
                    .map(crate::rows::profile_from_json)
                    .transpose()
            }

            async fn merge_profile(
                &self,
                space: &str,
                update: messenger_model::Profile,
            ) -> Result<messenger_model::Profile, messenger_store::StoreError> {
                messenger_store::implementors::check_profile_id(&update.id)?;
                let mut tx = self.begin_write().await?;
                let mut profile = Self::ensure_profile_locked(&mut tx, space, &update.id).await?;
                profile.merge(update);
                if let Err(e) = Self::check_messenger_id_free(&mut tx, space, &profile).await {
                    Self::rollback(tx).await?;
                    return Err(e);
                }
                Self::save_profile(&mut tx, space, &profile).await?;
                self.commit(tx).await?;
                Ok(profile)
            }

            async fn replace_profile(
                &self,
                space: &str,
                profile: messenger_model::Profile,
            ) -> Result<messenger_model::Profile, messenger_store::StoreError> {
                messenger_store::implementors::check_profile_id(&profile.id)?;
                let mut tx = self.begin_write().await?;
                if let Err(e) = Self::check_messenger_id_free(&mut tx, space, &profile).await {
                    Self::rollback(tx).await?;
                    return Err(e);
                }
                Self::save_profile(&mut tx, space, &profile).await?;
                self.commit(tx).await?;
                Ok(profile)
            }

            async fn delete_profile(
                &self,
                space: &str,
                id: &str,
            ) -> Result<bool, messenger_store::StoreError> {
                let mut tx = self.begin_write().await?;
                let deleted = sqlx::query("DELETE FROM profiles WHERE space = $1 AND id = $2")
                    .bind(space)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::db("deleting a profile"))?
                    .rows_affected();
                sqlx::query("DELETE FROM messenger_links WHERE space = $1 AND profile_id = $2")
                    .bind(space)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::db("deleting a profile's links"))?;
                self.commit(tx).await?;
                Ok(deleted > 0)
            }

            async fn find_by_messenger_id(
                &self,
                space: &str,
                page_id: &str,
                psid: &str,
            ) -> Result<Option<messenger_model::Profile>, messenger_store::StoreError> {
                let linked: Option<String> = sqlx::query_scalar(
                    "SELECT p.body FROM messenger_links l JOIN profiles p \
                     ON p.space = l.space AND p.id = l.profile_id \
                     WHERE l.space = $1 AND l.page_id = $2 AND l.psid = $3",
                )
                .bind(space)
                .bind(page_id)
                .bind(psid)
                .fetch_optional(self.reader())
                .await
                .map_err(crate::error::db("reading a Messenger ID link"))?;
                let body = match linked {
                    Some(body) => Some(body),
                    None => sqlx::query_scalar(
                        "SELECT body FROM profiles WHERE space = $1 AND fb_messenger_id = $2 \
                         ORDER BY id LIMIT 1",
                    )
                    .bind(space)
                    .bind(psid)
                    .fetch_optional(self.reader())
                    .await
                    .map_err(crate::error::db("finding a profile by Messenger ID"))?,
                };
                body.as_deref()
                    .map(crate::rows::profile_from_json)
                    .transpose()
            }

            async fn find_profiles(
                &self,
                space: &str,
                query: &messenger_store::ProfileQuery,
            ) -> Result<Vec<messenger_model::Profile>, messenger_store::StoreError> {
                let (fb, phone) = (&query.fb_messenger_id, &query.phone_number);
                // `IS NULL` on the bind makes an unset field match everything; `after` pages by
                // id (keyset). Ids compare in the column's order, the same as `ORDER BY id`.
                let bodies: Vec<String> = sqlx::query_scalar(
                    "SELECT body FROM profiles WHERE space = $1 \
                     AND ($2 IS NULL OR fb_messenger_id = $2) \
                     AND ($3 IS NULL OR phone_number = $3) \
                     AND ($4 IS NULL OR id > $4) ORDER BY id LIMIT $5",
                )
                .bind(space)
                .bind(fb.as_deref())
                .bind(phone.as_deref())
                .bind(query.after.as_deref())
                .bind(crate::rows::to_i64(query.effective_limit()))
                .fetch_all(self.reader())
                .await
                .map_err(crate::error::db("finding profiles"))?;
                bodies
                    .iter()
                    .map(|b| crate::rows::profile_from_json(b))
                    .collect()
            }

            async fn link_messenger_id(
                &self,
                space: &str,
                profile_id: &str,
                page_id: &str,
                psid: &str,
            ) -> Result<messenger_store::Linked, messenger_store::StoreError> {
                messenger_store::implementors::check_profile_id(profile_id)?;
                let mut tx = self.begin_write().await?;
                Self::claim_messenger_id(&mut tx, space, psid).await?;
                // Create the link if missing, then lock it and read whose it was.
                sqlx::query(
                    "INSERT INTO messenger_links (space, page_id, psid, profile_id) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (space, page_id, psid) DO NOTHING",
                )
                .bind(space)
                .bind(page_id)
                .bind(psid)
                .bind(profile_id)
                .execute(&mut *tx)
                .await
                .map_err(crate::error::db("writing a Messenger ID link"))?;
                let previous: Option<String> = sqlx::query_scalar(concat!(
                    "SELECT profile_id FROM messenger_links \
                     WHERE space = $1 AND page_id = $2 AND psid = $3",
                    $lock
                ))
                .bind(space)
                .bind(page_id)
                .bind(psid)
                .fetch_optional(&mut *tx)
                .await
                .map_err(crate::error::db("reading a Messenger ID link"))?;
                let previous = previous.filter(|p| p != profile_id);
                sqlx::query(
                    "UPDATE messenger_links SET profile_id = $4 \
                     WHERE space = $1 AND page_id = $2 AND psid = $3",
                )
                .bind(space)
                .bind(page_id)
                .bind(psid)
                .bind(profile_id)
                .execute(&mut *tx)
                .await
                .map_err(crate::error::db("writing a Messenger ID link"))?;
                // Profiles holding the PSID in their field for this page: the one linked
                // before, and any without a link of their own on another page.
                let holders: Vec<String> = sqlx::query_scalar(
                    "SELECT p.id FROM profiles p WHERE p.space = $1 AND p.fb_messenger_id = $2 \
                     AND p.id <> $3 AND (p.id = $5 OR NOT EXISTS (SELECT 1 FROM messenger_links l \
                     WHERE l.space = p.space AND l.psid = $2 AND l.page_id <> $4 \
                     AND l.profile_id = p.id)) ORDER BY p.id",
                )
                .bind(space)
                .bind(psid)
                .bind(profile_id)
                .bind(page_id)
                .bind(previous.as_deref())
                .fetch_all(&mut *tx)
                .await
                .map_err(crate::error::db("finding a profile by Messenger ID"))?;
                for holder in &holders {
                    if let Some(mut old) = Self::load_profile_locked(&mut tx, space, holder).await?
                    {
                        old.fb_messenger_id = None;
                        Self::save_profile(&mut tx, space, &old).await?;
                    }
                }
                let mut profile = Self::ensure_profile_locked(&mut tx, space, profile_id).await?;
                profile.fb_messenger_id = Some(psid.to_owned());
                Self::save_profile(&mut tx, space, &profile).await?;
                self.commit(tx).await?;
                Ok(messenger_store::Linked {
                    profile,
                    moved_from: previous.or_else(|| holders.into_iter().next()),
                })
            }

            async fn set_facebook_profile(
                &self,
                space: &str,
                profile_id: &str,
                facebook: messenger_model::FacebookProfile,
            ) -> Result<Option<messenger_model::Profile>, messenger_store::StoreError> {
                let mut tx = self.begin_write().await?;
                let Some(mut profile) =
                    Self::load_profile_locked(&mut tx, space, profile_id).await?
                else {
                    Self::rollback(tx).await?;
                    return Ok(None);
                };
                profile.facebook = Some(facebook);
                Self::save_profile(&mut tx, space, &profile).await?;
                self.commit(tx).await?;
                Ok(Some(profile))
            }

            async fn record_inbound(
                &self,
                space: &str,
                page_id: &str,
                psid: &str,
                at: messenger_model::Timestamp,
            ) -> Result<(), messenger_store::StoreError> {
                sqlx::query(
                    "INSERT INTO inbound_window (space, page_id, psid, last_inbound_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (space, page_id, psid) \
                     DO UPDATE SET last_inbound_at = excluded.last_inbound_at \
                     WHERE excluded.last_inbound_at > inbound_window.last_inbound_at",
                )
                .bind(space)
                .bind(page_id)
                .bind(psid)
                .bind(at.millis())
                .execute(self.writer())
                .await
                .map_err(crate::error::db("recording an inbound message"))?;
                Ok(())
            }

            async fn last_inbound(
                &self,
                space: &str,
                page_id: &str,
                psid: &str,
            ) -> Result<Option<messenger_model::Timestamp>, messenger_store::StoreError> {
                let at: Option<i64> = sqlx::query_scalar(
                    "SELECT last_inbound_at FROM inbound_window \
                     WHERE space = $1 AND page_id = $2 AND psid = $3",
                )
                .bind(space)
                .bind(page_id)
                .bind(psid)
                .fetch_optional(self.reader())
                .await
                .map_err(crate::error::db("reading the inbound window"))?;
                Ok(at.map(messenger_model::Timestamp::from_millis))
            }
        }
    };
}
pub(crate) use impl_profile_store;
