//! # Stream registry
//!
//! ## Overview
//! The catalogue of live streams: a creator registers a stream (title, description, category and an
//! optional thumbnail content id), edits it, and switches it live or offline. Anyone can read a stream,
//! page through all streams or through one creator's streams, and count them. This is the seed's
//! StreamRegistry pallet (`register_stream`, `update_stream_status`) as an ink! contract.
//!
//! Every account may also set a creator profile (a display name and an optional avatar content id)
//! that viewers see beside its streams; it is the account's own claim, shown as such, and one entry
//! per account, deleted by `clear_profile`.
//!
//! ## Invariants
//! - Stream ids are `1..=stream_count()`, assigned in registration order and never reused.
//! - `creator_stream_count(c) == |{ s : streams[s].creator == c }|`, and
//!   `creator_stream_at(c, i)` is defined exactly for `i < creator_stream_count(c)`.
//! - Only `streams[s].creator` changes stream `s`.
//! - Every text field is non-empty where required and within its byte bound, so storage per stream is
//!   bounded; no storage item is an unbounded `Vec`.
//!
//! ## Errors
//! Every user mistake returns a named [`Error`] and changes nothing; no message panics on user input.
//!
//! ## Interface
//! `register_stream`, `update_stream`, `set_live` (the seed's `update_stream_status`), `get_stream`,
//! `list_streams`, `streams_of`, `stream_count`, `creator_stream_count`; profiles: `set_profile`,
//! `clear_profile`, `profile_of`, `profiles`.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

#[ink::contract]
pub mod stream_registry {
    use ink::prelude::{string::String, vec::Vec};
    use ink::storage::Mapping;

    /// Identifier of a stream; the first stream registered is 1.
    pub type StreamId = u64;

    /// Longest title, in UTF-8 bytes.
    pub const MAX_TITLE_LEN: u32 = 128;
    /// Longest description, in UTF-8 bytes.
    pub const MAX_DESCRIPTION_LEN: u32 = 1024;
    /// Longest category, in UTF-8 bytes.
    pub const MAX_CATEGORY_LEN: u32 = 32;
    /// Longest thumbnail content id (an IPFS CID v1 in base32 is 59 bytes), in bytes.
    pub const MAX_THUMBNAIL_LEN: u32 = 96;
    /// Most streams one paging call returns.
    pub const MAX_PAGE: u32 = 50;
    /// Longest display name, in UTF-8 bytes.
    pub const MAX_NAME_LEN: u32 = 48;
    /// Longest avatar content id, in bytes (as for thumbnails).
    pub const MAX_AVATAR_LEN: u32 = 96;
    /// Most accounts one `profiles` read takes.
    pub const MAX_PROFILES: u32 = 200;

    /// A stream was registered.
    #[ink(event)]
    pub struct StreamRegistered {
        /// The new stream's id.
        #[ink(topic)]
        pub stream_id: StreamId,
        /// Who registered it.
        #[ink(topic)]
        pub creator: AccountId,
        /// Its title.
        pub title: String,
    }

    /// A stream's title, description, category or thumbnail changed.
    #[ink(event)]
    pub struct StreamUpdated {
        /// The stream.
        #[ink(topic)]
        pub stream_id: StreamId,
    }

    /// A stream went live or offline.
    #[ink(event)]
    pub struct StreamStatusChanged {
        /// The stream.
        #[ink(topic)]
        pub stream_id: StreamId,
        /// `true` when it is now live.
        pub live: bool,
    }

    /// An account set or replaced its creator profile.
    #[ink(event)]
    pub struct ProfileSet {
        /// The account.
        #[ink(topic)]
        pub account: AccountId,
        /// Its display name.
        pub name: String,
    }

    /// An account deleted its creator profile.
    #[ink(event)]
    pub struct ProfileCleared {
        /// The account.
        #[ink(topic)]
        pub account: AccountId,
    }

    /// Why a message was refused. Nothing changes when one is returned.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    // The SCALE derive casts the variant index with `as u8`; clippy 1.96 flags that inside the
    // expansion. Our own code keeps cargo-contract's -D clippy::cast_possible_truncation.
    #[allow(clippy::cast_possible_truncation)]
    pub enum Error {
        /// The title is empty (or only whitespace).
        EmptyTitle,
        /// The title is longer than `max` bytes.
        TitleTooLong { max: u32 },
        /// The description is longer than `max` bytes.
        DescriptionTooLong { max: u32 },
        /// The category is empty.
        EmptyCategory,
        /// The category is longer than `max` bytes.
        CategoryTooLong { max: u32 },
        /// The thumbnail content id is empty or longer than `max` bytes.
        InvalidThumbnail { max: u32 },
        /// No stream has this id.
        StreamNotFound { stream_id: StreamId },
        /// The caller is not the stream's creator.
        NotCreator { stream_id: StreamId },
        /// The stream already has this live status.
        StatusUnchanged { stream_id: StreamId, live: bool },
        /// A page was asked for with a limit of zero or above `max`.
        InvalidPageSize { max: u32 },
        /// The id or a counter would overflow.
        Overflow,
        /// The display name is empty (or only whitespace).
        EmptyName,
        /// The display name is longer than `max` bytes.
        NameTooLong { max: u32 },
        /// The display name contains a control character (a line break, a tab, a direction override…).
        NameHasControlCharacter,
        /// The avatar content id is empty or longer than `max` bytes.
        InvalidAvatar { max: u32 },
        /// The caller has no profile to clear.
        NoProfile,
        /// More than `max` accounts were asked for at once.
        TooManyAccounts { max: u32 },
    }

    /// Result type of this contract's messages.
    pub type Result<T> = core::result::Result<T, Error>;

    /// One registered stream.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Stream {
        /// The stream's id.
        pub id: StreamId,
        /// The account that registered it; the only one that may change it.
        pub creator: AccountId,
        /// Title, 1..=`MAX_TITLE_LEN` bytes.
        pub title: String,
        /// Description, 0..=`MAX_DESCRIPTION_LEN` bytes.
        pub description: String,
        /// Category, 1..=`MAX_CATEGORY_LEN` bytes.
        pub category: String,
        /// Content id of a thumbnail image, if any.
        pub thumbnail_cid: Option<String>,
        /// Whether the stream is live now.
        pub live: bool,
        /// Block timestamp of registration, in milliseconds since the Unix epoch.
        pub created_at_ms: Timestamp,
        /// Block timestamp of the last status change, in milliseconds.
        pub status_changed_at_ms: Timestamp,
    }

    /// Editable fields of a stream, as given by its creator.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub struct StreamDetails {
        /// Title, 1..=`MAX_TITLE_LEN` bytes.
        pub title: String,
        /// Description, 0..=`MAX_DESCRIPTION_LEN` bytes.
        pub description: String,
        /// Category, 1..=`MAX_CATEGORY_LEN` bytes.
        pub category: String,
        /// Content id of a thumbnail image, 1..=`MAX_THUMBNAIL_LEN` bytes, if any.
        pub thumbnail_cid: Option<String>,
    }

    /// How a creator is shown to viewers: chosen by the account itself.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Profile {
        /// Display name, 1..=`MAX_NAME_LEN` bytes, no control characters.
        pub name: String,
        /// Content id of an avatar image, 1..=`MAX_AVATAR_LEN` bytes, if any.
        pub avatar_cid: Option<String>,
    }

    /// The registry's storage.
    #[ink(storage)]
    #[derive(Default)]
    pub struct StreamRegistry {
        /// Streams by id.
        streams: Mapping<StreamId, Stream>,
        /// Number of streams ever registered; also the highest id.
        stream_count: u64,
        /// `(creator, index)` → stream id, for paging a creator's streams without a `Vec`.
        creator_streams: Mapping<(AccountId, u32), StreamId>,
        /// Number of streams each creator registered.
        creator_stream_count: Mapping<AccountId, u32>,
        /// Creator profiles, one per account that set one.
        profiles: Mapping<AccountId, Profile>,
    }

    impl StreamRegistry {
        /// An empty registry.
        #[ink(constructor)]
        pub fn new() -> Self {
            Self::default()
        }

        /// Registers a stream for the caller, offline at first, and returns its id.
        ///
        /// Requirements: the details pass [`validate`].
        /// Emits [`StreamRegistered`].
        #[ink(message)]
        pub fn register_stream(&mut self, details: StreamDetails) -> Result<StreamId> {
            validate(&details)?;
            let creator = self.env().caller();
            let id = self.stream_count.checked_add(1).ok_or(Error::Overflow)?;
            let index = self.creator_stream_count.get(creator).unwrap_or(0);
            let next_index = index.checked_add(1).ok_or(Error::Overflow)?;
            let now = self.env().block_timestamp();

            let title = details.title.clone();
            self.streams.insert(
                id,
                &Stream {
                    id,
                    creator,
                    title: details.title,
                    description: details.description,
                    category: details.category,
                    thumbnail_cid: details.thumbnail_cid,
                    live: false,
                    created_at_ms: now,
                    status_changed_at_ms: now,
                },
            );
            self.stream_count = id;
            self.creator_streams.insert((creator, index), &id);
            self.creator_stream_count.insert(creator, &next_index);
            self.env().emit_event(StreamRegistered {
                stream_id: id,
                creator,
                title,
            });
            Ok(id)
        }

        /// Replaces a stream's editable details.
        ///
        /// Requirements: the caller created the stream; the details pass [`validate`].
        /// Emits [`StreamUpdated`].
        #[ink(message)]
        pub fn update_stream(&mut self, stream_id: StreamId, details: StreamDetails) -> Result<()> {
            let mut stream = self.owned_stream(stream_id)?;
            validate(&details)?;
            stream.title = details.title;
            stream.description = details.description;
            stream.category = details.category;
            stream.thumbnail_cid = details.thumbnail_cid;
            self.streams.insert(stream_id, &stream);
            self.env().emit_event(StreamUpdated { stream_id });
            Ok(())
        }

        /// Sets a stream live (`true`) or offline (`false`). The seed's `update_stream_status`.
        ///
        /// Requirements: the caller created the stream; the status differs from the current one.
        /// Emits [`StreamStatusChanged`].
        #[ink(message)]
        pub fn set_live(&mut self, stream_id: StreamId, live: bool) -> Result<()> {
            let mut stream = self.owned_stream(stream_id)?;
            if stream.live == live {
                return Err(Error::StatusUnchanged { stream_id, live });
            }
            stream.live = live;
            stream.status_changed_at_ms = self.env().block_timestamp();
            self.streams.insert(stream_id, &stream);
            self.env().emit_event(StreamStatusChanged { stream_id, live });
            Ok(())
        }

        /// The stream with this id, if any.
        #[ink(message)]
        pub fn get_stream(&self, stream_id: StreamId) -> Option<Stream> {
            self.streams.get(stream_id)
        }

        /// Whether the stream exists and is live. Used by other contracts.
        #[ink(message)]
        pub fn is_live(&self, stream_id: StreamId) -> bool {
            self.streams.get(stream_id).map(|s| s.live).unwrap_or(false)
        }

        /// The creator of a stream, if it exists. Used by other contracts.
        #[ink(message)]
        pub fn creator_of(&self, stream_id: StreamId) -> Option<AccountId> {
            self.streams.get(stream_id).map(|s| s.creator)
        }

        /// Up to `limit` streams with ids from `first_id` upwards (ids start at 1).
        #[ink(message)]
        pub fn list_streams(&self, first_id: StreamId, limit: u32) -> Result<Vec<Stream>> {
            check_page(limit)?;
            let first = first_id.max(1);
            let last = first
                .saturating_add(u64::from(limit))
                .saturating_sub(1)
                .min(self.stream_count);
            Ok((first..=last).filter_map(|id| self.streams.get(id)).collect())
        }

        /// Up to `limit` of `creator`'s streams, from their `start`-th (0-based) in registration order.
        #[ink(message)]
        pub fn streams_of(&self, creator: AccountId, start: u32, limit: u32) -> Result<Vec<Stream>> {
            check_page(limit)?;
            let count = self.creator_stream_count.get(creator).unwrap_or(0);
            let end = start.saturating_add(limit).min(count);
            Ok((start..end)
                .filter_map(|i| self.creator_streams.get((creator, i)))
                .filter_map(|id| self.streams.get(id))
                .collect())
        }

        /// Number of streams ever registered (the highest id).
        #[ink(message)]
        pub fn stream_count(&self) -> u64 {
            self.stream_count
        }

        /// Number of streams `creator` registered.
        #[ink(message)]
        pub fn creator_stream_count(&self, creator: AccountId) -> u32 {
            self.creator_stream_count.get(creator).unwrap_or(0)
        }

        /// Sets or replaces the caller's creator profile.
        ///
        /// Requirements: the profile passes [`validate_profile`].
        /// Emits [`ProfileSet`].
        #[ink(message)]
        pub fn set_profile(&mut self, profile: Profile) -> Result<()> {
            validate_profile(&profile)?;
            let account = self.env().caller();
            let name = profile.name.clone();
            self.profiles.insert(account, &profile);
            self.env().emit_event(ProfileSet { account, name });
            Ok(())
        }

        /// Deletes the caller's creator profile (its storage deposit comes back).
        ///
        /// Requirements: the caller has a profile.
        /// Emits [`ProfileCleared`].
        #[ink(message)]
        pub fn clear_profile(&mut self) -> Result<()> {
            let account = self.env().caller();
            if self.profiles.take(account).is_none() {
                return Err(Error::NoProfile);
            }
            self.env().emit_event(ProfileCleared { account });
            Ok(())
        }

        /// The account's creator profile, if it set one.
        #[ink(message)]
        pub fn profile_of(&self, account: AccountId) -> Option<Profile> {
            self.profiles.get(account)
        }

        /// The profiles of up to `MAX_PROFILES` accounts, in their order: one read for a page of streams.
        #[ink(message)]
        pub fn profiles(&self, accounts: Vec<AccountId>) -> Result<Vec<Option<Profile>>> {
            if u32::try_from(accounts.len()).map_or(true, |n| n > MAX_PROFILES) {
                return Err(Error::TooManyAccounts { max: MAX_PROFILES });
            }
            Ok(accounts.into_iter().map(|a| self.profiles.get(a)).collect())
        }

        /// The stream, if it exists and the caller created it.
        fn owned_stream(&self, stream_id: StreamId) -> Result<Stream> {
            let stream = self
                .streams
                .get(stream_id)
                .ok_or(Error::StreamNotFound { stream_id })?;
            if stream.creator != self.env().caller() {
                return Err(Error::NotCreator { stream_id });
            }
            Ok(stream)
        }
    }

    /// Checks the bounds of every editable field.
    fn validate(d: &StreamDetails) -> Result<()> {
        if d.title.trim().is_empty() {
            return Err(Error::EmptyTitle);
        }
        if exceeds(&d.title, MAX_TITLE_LEN) {
            return Err(Error::TitleTooLong { max: MAX_TITLE_LEN });
        }
        if exceeds(&d.description, MAX_DESCRIPTION_LEN) {
            return Err(Error::DescriptionTooLong {
                max: MAX_DESCRIPTION_LEN,
            });
        }
        if d.category.trim().is_empty() {
            return Err(Error::EmptyCategory);
        }
        if exceeds(&d.category, MAX_CATEGORY_LEN) {
            return Err(Error::CategoryTooLong {
                max: MAX_CATEGORY_LEN,
            });
        }
        if let Some(cid) = &d.thumbnail_cid {
            if cid.is_empty() || exceeds(cid, MAX_THUMBNAIL_LEN) {
                return Err(Error::InvalidThumbnail {
                    max: MAX_THUMBNAIL_LEN,
                });
            }
        }
        Ok(())
    }

    /// Checks a profile's bounds: a visible name without control characters, a bounded avatar id.
    fn validate_profile(p: &Profile) -> Result<()> {
        if p.name.trim().is_empty() {
            return Err(Error::EmptyName);
        }
        if exceeds(&p.name, MAX_NAME_LEN) {
            return Err(Error::NameTooLong { max: MAX_NAME_LEN });
        }
        if p.name.chars().any(is_control) {
            return Err(Error::NameHasControlCharacter);
        }
        if let Some(cid) = &p.avatar_cid {
            if cid.is_empty() || exceeds(cid, MAX_AVATAR_LEN) {
                return Err(Error::InvalidAvatar {
                    max: MAX_AVATAR_LEN,
                });
            }
        }
        Ok(())
    }

    /// Control characters, and the invisible format characters that reorder or hide text
    /// (bidirectional overrides and isolates, zero-width characters).
    fn is_control(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
    }

    fn exceeds(s: &str, max: u32) -> bool {
        u32::try_from(s.len()).map_or(true, |len| len > max)
    }

    fn check_page(limit: u32) -> Result<()> {
        if limit == 0 || limit > MAX_PAGE {
            return Err(Error::InvalidPageSize { max: MAX_PAGE });
        }
        Ok(())
    }
}

pub use self::stream_registry::{
    Error, Profile, Stream, StreamDetails, StreamId, StreamRegistry, StreamRegistryRef,
};

#[cfg(test)]
mod tests;
