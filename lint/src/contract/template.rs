//! Path templates in one form, so a spec path and a route path can be compared as strings:
//! every parameter spelling (`{id}`, `{id:\d+}`, `{*rest}`, `:id`, `*rest`, `<id>`, `<path..>`)
//! becomes `{}`, empty segments (doubled and trailing slashes) are dropped, and the result
//! starts with `/`.

/// The normalized form of `path` (`/orders/{}/items`).
pub fn normalize(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1);
    for seg in path.split('/') {
        if seg.is_empty() {
            continue;
        }
        out.push('/');
        push_segment(seg, &mut out);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// `prefix` and `path` joined, then normalized (`/v1` + `/orders/` → `/v1/orders`).
pub fn join(prefix: &str, path: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + path.len() + 1);
    s.push_str(prefix);
    s.push('/');
    s.push_str(path);
    normalize(&s)
}

fn push_segment(seg: &str, out: &mut String) {
    // poem and axum 0.7 (`:id`, `*rest`, `:id<\d+>`): the whole segment is the parameter
    if seg.starts_with(':') || seg.starts_with('*') {
        out.push_str("{}");
        return;
    }
    let bytes = seg.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let close = match bytes[i] {
            b'{' => closing(bytes, i, b'{', b'}'),
            b'<' => closing(bytes, i, b'<', b'>'),
            _ => None,
        };
        match close {
            Some(end) => {
                out.push_str("{}");
                i = end + 1;
            }
            None => {
                // copy up to the next possible parameter start (char boundaries are kept:
                // `{` and `<` are ASCII)
                let next = bytes[i + 1..]
                    .iter()
                    .position(|b| *b == b'{' || *b == b'<')
                    .map_or(bytes.len(), |p| i + 1 + p);
                out.push_str(&seg[i..next]);
                i = next;
            }
        }
    }
}

/// The index of the bracket closing the one at `open` (nested pairs count, as in actix's
/// `{id:\d{3}}`), if any.
fn closing(bytes: &[u8], open: usize, o: u8, c: u8) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in bytes.iter().enumerate().skip(open) {
        if *b == o {
            depth += 1;
        } else if *b == c {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_spelling_is_one_form() {
        for p in [
            "/orders/{id}/items",
            "/orders/:id/items",
            "/orders/<id>/items",
            "/orders/{order_id:\\d{3}}/items/",
            "orders/{id}/items",
            "//orders/{id}//items/",
        ] {
            assert_eq!(normalize(p), "/orders/{}/items", "{p}");
        }
        for p in [
            "/files/{*rest}",
            "/files/*rest",
            "/files/<path..>",
            "/files/{rest}",
        ] {
            assert_eq!(normalize(p), "/files/{}", "{p}");
        }
        assert_eq!(normalize("/a/{id}.json"), "/a/{}.json");
        assert_eq!(normalize("/a/file-<name>-{v}"), "/a/file-{}-{}");
        assert_eq!(normalize(""), "/");
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize("/caf\u{e9}/{x"), "/caf\u{e9}/{x");
    }

    proptest::proptest! {
        /// Any text: no panic, a normalized form is its own normal form, and the parameter
        /// names and spellings do not matter.
        #[test]
        fn normal_forms(segs in proptest::collection::vec("[a-z{}<>:*._-]{0,6}", 0..6),
                        names in proptest::collection::vec("[a-z_]{1,5}", 6)) {
            let path = format!("/{}", segs.join("/"));
            let n = normalize(&path);
            proptest::prop_assert_eq!(normalize(&n), n.clone());
            proptest::prop_assert!(n.starts_with('/'));
            let spelled = |i: usize, style: usize| match style {
                0 => format!("{{{}}}", names[i]),
                1 => format!(":{}", names[i]),
                2 => format!("<{}>", names[i]),
                _ => format!("{{*{}}}", names[i]),
            };
            let a: Vec<String> = (0..names.len()).map(|i| spelled(i, i % 4)).collect();
            let b: Vec<String> = (0..names.len()).map(|i| spelled(i, (i + 1) % 4)).collect();
            proptest::prop_assert_eq!(
                normalize(&format!("/x/{}/", a.join("/y/"))),
                normalize(&format!("x/{}", b.join("//y/")))
            );
        }
    }

    #[test]
    fn joins_prefixes() {
        assert_eq!(join("/v1/", "/orders/"), "/v1/orders");
        assert_eq!(join("", "/orders"), "/orders");
        assert_eq!(join("/", "/"), "/");
    }
}
