//! The automerge-repo wire codec on arbitrary bytes: decoding never panics,
//! and whatever decodes survives encode → decode unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tavolo_sync::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::decode(data) {
        let bytes = message.encode();
        match Message::decode(&bytes) {
            Ok(again) => assert_eq!(again, message, "round trip changed the message"),
            Err(e) => panic!("re-encoded {message:?} does not decode: {e}"),
        }
    }
});
