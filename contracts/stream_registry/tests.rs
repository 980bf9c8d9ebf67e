//! Unit tests (off-chain environment), one behaviour each, given / when / then.

use crate::stream_registry::*;
use ink::env::{test, DefaultEnvironment};
use ink::primitives::AccountId;

fn accounts() -> test::DefaultAccounts<DefaultEnvironment> {
    test::default_accounts::<DefaultEnvironment>()
}

fn as_caller(who: AccountId) {
    test::set_caller::<DefaultEnvironment>(who);
}

fn details(title: &str) -> StreamDetails {
    StreamDetails {
        title: title.into(),
        description: "Evening set".into(),
        category: "music".into(),
        thumbnail_cid: None,
    }
}

fn events() -> usize {
    test::recorded_events().count()
}

#[ink::test]
fn register_assigns_sequential_ids_and_stores_the_stream() {
    // given
    let mut registry = StreamRegistry::new();
    as_caller(accounts().alice);
    test::set_block_timestamp::<DefaultEnvironment>(1_700_000_000_000);
    // when
    let first = registry.register_stream(details("First")).unwrap();
    let second = registry.register_stream(details("Second")).unwrap();
    // then
    assert_eq!((first, second), (1, 2));
    assert_eq!(registry.stream_count(), 2);
    let stream = registry.get_stream(1).expect("stream 1 exists");
    assert_eq!(stream.title, "First");
    assert_eq!(stream.creator, accounts().alice);
    assert!(!stream.live, "a new stream starts offline");
    assert_eq!(stream.created_at_ms, 1_700_000_000_000);
    assert_eq!(events(), 2, "one StreamRegistered event per registration");
}

#[ink::test]
fn register_rejects_empty_title_and_changes_nothing() {
    let mut registry = StreamRegistry::new();
    assert_eq!(registry.register_stream(details("   ")), Err(Error::EmptyTitle));
    assert_eq!(registry.stream_count(), 0);
    assert_eq!(events(), 0);
}

#[ink::test]
fn register_rejects_fields_past_their_bounds() {
    let mut registry = StreamRegistry::new();
    let long_title = "t".repeat(MAX_TITLE_LEN as usize + 1);
    assert_eq!(
        registry.register_stream(details(&long_title)),
        Err(Error::TitleTooLong { max: MAX_TITLE_LEN })
    );
    let mut d = details("ok");
    d.description = "d".repeat(MAX_DESCRIPTION_LEN as usize + 1);
    assert_eq!(
        registry.register_stream(d),
        Err(Error::DescriptionTooLong { max: MAX_DESCRIPTION_LEN })
    );
    let mut d = details("ok");
    d.category = String::new();
    assert_eq!(registry.register_stream(d), Err(Error::EmptyCategory));
    let mut d = details("ok");
    d.category = "c".repeat(MAX_CATEGORY_LEN as usize + 1);
    assert_eq!(
        registry.register_stream(d),
        Err(Error::CategoryTooLong { max: MAX_CATEGORY_LEN })
    );
    let mut d = details("ok");
    d.thumbnail_cid = Some(String::new());
    assert_eq!(
        registry.register_stream(d),
        Err(Error::InvalidThumbnail { max: MAX_THUMBNAIL_LEN })
    );
    assert_eq!(registry.stream_count(), 0);
}

#[ink::test]
fn title_at_exactly_the_bound_is_accepted() {
    let mut registry = StreamRegistry::new();
    let title = "t".repeat(MAX_TITLE_LEN as usize);
    assert_eq!(registry.register_stream(details(&title)), Ok(1));
}

#[ink::test]
fn set_live_toggles_status_for_the_creator() {
    let mut registry = StreamRegistry::new();
    as_caller(accounts().alice);
    let id = registry.register_stream(details("Show")).unwrap();
    test::set_block_timestamp::<DefaultEnvironment>(42);
    assert_eq!(registry.set_live(id, true), Ok(()));
    let stream = registry.get_stream(id).unwrap();
    assert!(stream.live);
    assert!(registry.is_live(id));
    assert_eq!(stream.status_changed_at_ms, 42);
    assert_eq!(registry.set_live(id, false), Ok(()));
    assert!(!registry.is_live(id));
}

#[ink::test]
fn set_live_to_the_same_status_is_refused() {
    let mut registry = StreamRegistry::new();
    let id = registry.register_stream(details("Show")).unwrap();
    assert_eq!(
        registry.set_live(id, false),
        Err(Error::StatusUnchanged { stream_id: id, live: false })
    );
}

#[ink::test]
fn only_the_creator_may_change_a_stream() {
    let mut registry = StreamRegistry::new();
    as_caller(accounts().alice);
    let id = registry.register_stream(details("Alice's")).unwrap();
    let before = events();
    as_caller(accounts().bob);
    assert_eq!(registry.set_live(id, true), Err(Error::NotCreator { stream_id: id }));
    assert_eq!(
        registry.update_stream(id, details("Bob's now")),
        Err(Error::NotCreator { stream_id: id })
    );
    let stream = registry.get_stream(id).unwrap();
    assert_eq!(stream.title, "Alice's");
    assert!(!stream.live);
    assert_eq!(events(), before, "a refused change emits nothing");
}

#[ink::test]
fn unknown_stream_is_a_named_error() {
    let mut registry = StreamRegistry::new();
    assert_eq!(registry.set_live(7, true), Err(Error::StreamNotFound { stream_id: 7 }));
    assert_eq!(
        registry.update_stream(7, details("x")),
        Err(Error::StreamNotFound { stream_id: 7 })
    );
    assert_eq!(registry.get_stream(7), None);
    assert_eq!(registry.creator_of(7), None);
}

#[ink::test]
fn update_replaces_details_and_validates_them() {
    let mut registry = StreamRegistry::new();
    let id = registry.register_stream(details("Old")).unwrap();
    let mut new = details("New");
    new.thumbnail_cid = Some("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi".into());
    assert_eq!(registry.update_stream(id, new.clone()), Ok(()));
    let stream = registry.get_stream(id).unwrap();
    assert_eq!(stream.title, "New");
    assert_eq!(stream.thumbnail_cid, new.thumbnail_cid);
    assert_eq!(registry.update_stream(id, details("")), Err(Error::EmptyTitle));
    assert_eq!(registry.get_stream(id).unwrap().title, "New");
}

#[ink::test]
fn streams_of_pages_through_one_creators_streams() {
    let mut registry = StreamRegistry::new();
    as_caller(accounts().alice);
    for i in 0..5 {
        registry.register_stream(details(&format!("A{i}"))).unwrap();
    }
    as_caller(accounts().bob);
    registry.register_stream(details("B0")).unwrap();

    let alice = accounts().alice;
    assert_eq!(registry.creator_stream_count(alice), 5);
    let page: Vec<_> = registry
        .streams_of(alice, 1, 3)
        .unwrap()
        .into_iter()
        .map(|s| s.title)
        .collect();
    assert_eq!(page, ["A1", "A2", "A3"]);
    assert_eq!(registry.streams_of(alice, 4, 10).unwrap().len(), 1);
    assert!(registry.streams_of(alice, 9, 10).unwrap().is_empty());
    assert_eq!(registry.streams_of(accounts().bob, 0, 10).unwrap()[0].title, "B0");
}

#[ink::test]
fn list_streams_pages_by_id() {
    let mut registry = StreamRegistry::new();
    for i in 1..=4 {
        registry.register_stream(details(&format!("S{i}"))).unwrap();
    }
    let ids: Vec<_> = registry.list_streams(2, 2).unwrap().iter().map(|s| s.id).collect();
    assert_eq!(ids, [2, 3]);
    let ids: Vec<_> = registry.list_streams(0, 50).unwrap().iter().map(|s| s.id).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    assert!(registry.list_streams(5, 10).unwrap().is_empty());
}

#[ink::test]
fn page_size_must_be_between_one_and_the_maximum() {
    let registry = StreamRegistry::new();
    let err = Err(Error::InvalidPageSize { max: MAX_PAGE });
    assert_eq!(registry.list_streams(1, 0), err);
    assert_eq!(registry.list_streams(1, MAX_PAGE + 1), err);
    assert_eq!(registry.streams_of(accounts().alice, 0, 0), err);
}

fn profile(name: &str, avatar: Option<&str>) -> Profile {
    Profile {
        name: name.into(),
        avatar_cid: avatar.map(Into::into),
    }
}

#[ink::test]
fn set_profile_stores_it_for_the_caller_only() {
    // given
    let mut registry = StreamRegistry::new();
    as_caller(accounts().bob);
    // when
    registry
        .set_profile(profile("Night Jazz Club", Some("bafkreiexample")))
        .unwrap();
    // then
    assert_eq!(
        registry.profile_of(accounts().bob),
        Some(profile("Night Jazz Club", Some("bafkreiexample")))
    );
    assert_eq!(registry.profile_of(accounts().alice), None);
    assert_eq!(events(), 1, "one ProfileSet event");
}

#[ink::test]
fn set_profile_replaces_the_previous_one() {
    let mut registry = StreamRegistry::new();
    as_caller(accounts().bob);
    registry.set_profile(profile("Old", Some("cid"))).unwrap();
    registry.set_profile(profile("New", None)).unwrap();
    assert_eq!(registry.profile_of(accounts().bob), Some(profile("New", None)));
}

#[ink::test]
fn set_profile_refuses_bad_names_and_avatars_and_changes_nothing() {
    let mut registry = StreamRegistry::new();
    as_caller(accounts().bob);
    registry.set_profile(profile("Kept", None)).unwrap();
    let long = "n".repeat(MAX_NAME_LEN as usize + 1);
    let long_cid = "c".repeat(MAX_AVATAR_LEN as usize + 1);
    let cases = [
        (profile("  ", None), Error::EmptyName),
        (profile(&long, None), Error::NameTooLong { max: MAX_NAME_LEN }),
        (profile("Two\nlines", None), Error::NameHasControlCharacter),
        // A right-to-left override makes "Alice\u{202E}gnp.exe" render as another name.
        (profile("Alice\u{202E}evil", None), Error::NameHasControlCharacter),
        (profile("Zero\u{200B}width", None), Error::NameHasControlCharacter),
        (profile("Fine", Some("")), Error::InvalidAvatar { max: MAX_AVATAR_LEN }),
        (profile("Fine", Some(&long_cid)), Error::InvalidAvatar { max: MAX_AVATAR_LEN }),
    ];
    for (bad, error) in cases {
        assert_eq!(registry.set_profile(bad.clone()), Err(error), "{bad:?}");
    }
    assert_eq!(registry.profile_of(accounts().bob), Some(profile("Kept", None)));
    assert_eq!(events(), 1, "only the first, valid, profile emitted an event");
}

#[ink::test]
fn a_name_of_exactly_the_bound_in_multibyte_characters_is_accepted() {
    let mut registry = StreamRegistry::new();
    // 16 three-byte characters: 48 bytes.
    let name = "संगीत".chars().cycle().take(16).collect::<String>();
    assert_eq!(name.len(), MAX_NAME_LEN as usize);
    assert_eq!(registry.set_profile(profile(&name, None)), Ok(()));
}

#[ink::test]
fn clear_profile_deletes_it_and_refuses_when_there_is_none() {
    let mut registry = StreamRegistry::new();
    as_caller(accounts().bob);
    assert_eq!(registry.clear_profile(), Err(Error::NoProfile));
    registry.set_profile(profile("Bob", None)).unwrap();
    assert_eq!(registry.clear_profile(), Ok(()));
    assert_eq!(registry.profile_of(accounts().bob), None);
    assert_eq!(events(), 2, "ProfileSet, then ProfileCleared");
}

#[ink::test]
fn profiles_reads_many_accounts_in_order_and_bounds_the_request() {
    let mut registry = StreamRegistry::new();
    as_caller(accounts().bob);
    registry.set_profile(profile("Bob", None)).unwrap();
    as_caller(accounts().eve);
    registry.set_profile(profile("Eve", None)).unwrap();
    let a = accounts();
    assert_eq!(
        registry.profiles(vec![a.eve, a.alice, a.bob]),
        Ok(vec![Some(profile("Eve", None)), None, Some(profile("Bob", None))])
    );
    let too_many = vec![a.alice; MAX_PROFILES as usize + 1];
    assert_eq!(
        registry.profiles(too_many),
        Err(Error::TooManyAccounts { max: MAX_PROFILES })
    );
}
