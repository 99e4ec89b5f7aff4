//! `#[idempotent(...)]`: runs an operation at most once per idempotency key.
//!
//! Two forms:
//! - on a plain `async fn` returning `Result<T, E>` (`key = parts(a, "b", c)`, `key = EXPR` or
//!   `natural_key = "field"`):
//!   the body runs under `idemgate::idempotency::run` with a key scoped by `scope` and the fn's
//!   path; later calls with the key get the stored `Ok` value without executing.
//! - on an axum handler (`key = header("Idempotency-Key")`): the handler is wrapped by
//!   `idemgate::http::Idempotency`, which reads the key, fingerprints method + path + body, and
//!   answers duplicates with 409 / the stored response / 422 (feature `axum` of `idemgate`).
//!   An actix-web handler — one with an actix route attribute (`#[post("/orders")]`) or whose
//!   signature names actix types (`web::Json`, `HttpRequest`, `HttpResponse`,
//!   `impl Responder`, `Data<T>`) — is wrapped by `idemgate::http::actix::Idempotency` the same
//!   way (feature `actix`).
//!
//! A handler's keys are scoped by the caller: `scope = header("X-Tenant")`, `scope = principal`
//! (the `Principal` an auth layer sets), or `scope = none` (every caller shares keys). A handler
//! with none of them and no `Principal` parameter is a compile error naming the three.
//!
//! `conditional` declares that the operation is idempotent by compare-and-set (`If-Match`, a
//! version column): the body is unchanged, the gate reads the declaration.

// actix-web's route attributes (kept on the outer fn) and the types only an actix-web handler
// names: the shared vocabulary
use idemgate_grammar::vocab::{ACTIX_MARKERS, ACTIX_ROUTE_ATTRIBUTES as ACTIX_ROUTES};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::{Expr, FnArg, GenericArgument, ItemFn, LitStr, PathArguments, Type};

use crate::args::{
    duration_value, lit_str, parse_args, require_flag, require_value, string_value, DurationArg,
    Errors, Seen,
};
use crate::fresh::fresh_values;
use crate::retry::pin_return_type;

enum Strategy {
    /// `key = EXPR`
    Key(Box<Expr>),
    /// `key = parts(a, "b", c)`: encoded by `idemgate::Key`, so parts cannot run into each other
    Parts(Vec<Expr>),
    /// `key = header("Idempotency-Key")`
    Header(LitStr),
    /// `natural_key = "field"` (an argument or field path, e.g. "event.id")
    Natural(Box<Expr>),
    /// `conditional`
    Conditional,
}

enum Scope {
    Expr(Box<Expr>),
    Header(LitStr),
}

enum Fingerprint {
    /// `fingerprint = EXPR` (plain fns: the bytes that identify the payload)
    Expr(Box<Expr>),
    /// `fingerprint = fields("amount", "currency")` (handlers: top-level JSON body fields)
    Fields(Vec<LitStr>),
}

struct Config {
    strategy: Option<(Strategy, Span)>,
    ttl: Option<DurationArg>,
    lease: Option<DurationArg>,
    wait: Option<DurationArg>,
    scope: Option<Scope>,
    store: Option<Expr>,
    fingerprint: Option<Fingerprint>,
}

/// `header("Name")` → the literal.
fn header_call(expr: &Expr) -> Option<Result<LitStr, syn::Error>> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    if !func.path.is_ident("header") {
        return None;
    }
    let lit = match (call.args.len(), call.args.first().and_then(lit_str)) {
        (1, Some(lit)) => lit.clone(),
        _ => {
            return Some(Err(syn::Error::new_spanned(
                call,
                "`header(...)` takes one string literal, e.g. `header(\"Idempotency-Key\")`",
            )))
        }
    };
    let name = lit.value();
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid {
        return Some(Err(syn::Error::new_spanned(
            &lit,
            format!("{name:?} is not a valid HTTP header name"),
        )));
    }
    Some(Ok(lit))
}

/// `parts(a, "b", c)` → the parts.
fn parts_call(expr: &Expr) -> Option<Result<Vec<Expr>, syn::Error>> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    if !func.path.is_ident("parts") {
        return None;
    }
    if call.args.is_empty() {
        return Some(Err(syn::Error::new_spanned(
            call,
            "`parts(...)` needs at least one part, e.g. `parts(tenant, \"signup\", user_id)`",
        )));
    }
    Some(Ok(call.args.iter().cloned().collect()))
}

/// `fields("a", "b")` → the field names.
fn fields_call(expr: &Expr) -> Option<Result<Vec<LitStr>, syn::Error>> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    if !func.path.is_ident("fields") {
        return None;
    }
    if call.args.is_empty() {
        return Some(Err(syn::Error::new_spanned(
            call,
            "`fields(...)` names at least one top-level field of the JSON body, e.g. `fields(\"amount\", \"currency\")`",
        )));
    }
    let mut names: Vec<LitStr> = Vec::new();
    for arg in &call.args {
        match lit_str(arg) {
            Some(lit) if lit.value().is_empty() => {
                return Some(Err(syn::Error::new_spanned(lit, "a field name cannot be empty")))
            }
            Some(lit) if names.iter().any(|n| n.value() == lit.value()) => {
                return Some(Err(syn::Error::new_spanned(
                    lit,
                    format!("field {:?} is named twice", lit.value()),
                )))
            }
            Some(lit) => names.push(lit.clone()),
            None => {
                return Some(Err(syn::Error::new_spanned(
                    arg,
                    "`fields(...)` takes string literals naming top-level JSON fields, e.g. `fields(\"amount\", \"currency\")`",
                )))
            }
        }
    }
    Some(Ok(names))
}

fn parse_config(args: TokenStream, errors: &mut Errors) -> syn::Result<Config> {
    let args = parse_args(args)?;
    let mut config = Config {
        strategy: None,
        ttl: None,
        lease: None,
        wait: None,
        scope: None,
        store: None,
        fingerprint: None,
    };
    let mut seen = Seen::new(&idemgate_grammar::attributes::IDEMPOTENT);
    for arg in &args {
        let Some(name) = seen.accept(arg, errors) else {
            continue;
        };
        let strategy = match name.as_str() {
            "key" => {
                let Some(value) = require_value(arg, "header(\"Idempotency-Key\")", errors) else {
                    continue;
                };
                match header_call(value) {
                    Some(Ok(lit)) => Some(Strategy::Header(lit)),
                    Some(Err(error)) => {
                        errors.push(error);
                        continue;
                    }
                    None => {
                        let fresh = fresh_values(value);
                        if !fresh.is_empty() {
                            fresh.into_iter().for_each(|e| errors.push(e));
                            continue;
                        }
                        match parts_call(value) {
                            Some(Ok(parts)) => Some(Strategy::Parts(parts)),
                            Some(Err(error)) => {
                                errors.push(error);
                                continue;
                            }
                            None => Some(Strategy::Key(Box::new(value.clone()))),
                        }
                    }
                }
            }
            "natural_key" => {
                let Some(lit) = string_value(arg, "\"event_id\"", errors) else {
                    continue;
                };
                match syn::parse_str::<Expr>(&lit.value()) {
                    Ok(expr @ (Expr::Path(_) | Expr::Field(_))) => {
                        let expr = respan(expr.into_token_stream(), lit.span());
                        match syn::parse2::<Expr>(expr) {
                            Ok(expr) => Some(Strategy::Natural(Box::new(expr))),
                            Err(error) => {
                                errors.push(error);
                                continue;
                            }
                        }
                    }
                    _ => {
                        errors.spanned(
                            &lit,
                            "`natural_key` names the business field that makes the call unique: an argument or a field path, e.g. \"event_id\" or \"event.id\"",
                        );
                        continue;
                    }
                }
            }
            "conditional" => {
                if !require_flag(arg, errors) {
                    continue;
                }
                Some(Strategy::Conditional)
            }
            "ttl" => {
                config.ttl = duration_value(arg, "\"24h\"", errors);
                None
            }
            "lease" => {
                config.lease = duration_value(arg, "\"60s\"", errors);
                None
            }
            "wait" => {
                config.wait = duration_value(arg, "\"2s\"", errors);
                None
            }
            "scope" => {
                let Some(value) = require_value(arg, "tenant_id", errors) else {
                    continue;
                };
                match header_call(value) {
                    Some(Ok(lit)) => config.scope = Some(Scope::Header(lit)),
                    Some(Err(error)) => errors.push(error),
                    None => {
                        let fresh = fresh_values(value);
                        if fresh.is_empty() {
                            config.scope = Some(Scope::Expr(Box::new(value.clone())));
                        } else {
                            fresh.into_iter().for_each(|e| errors.push(e));
                        }
                    }
                }
                None
            }
            "store" => {
                config.store = require_value(arg, "my_store", errors).cloned();
                None
            }
            "fingerprint" => {
                if let Some(value) = require_value(arg, "fields(\"amount\", \"currency\")", errors)
                {
                    match fields_call(value) {
                        Some(Ok(fields)) => config.fingerprint = Some(Fingerprint::Fields(fields)),
                        Some(Err(error)) => errors.push(error),
                        None => {
                            config.fingerprint = Some(Fingerprint::Expr(Box::new(value.clone())))
                        }
                    }
                }
                None
            }
            _ => None,
        };
        if let Some(strategy) = strategy {
            if config.strategy.is_some() {
                errors.spanned(
                    &arg.name,
                    format!("`{name}` conflicts with the strategy already given; use one of `key`, `natural_key`, `conditional`"),
                );
            } else {
                config.strategy = Some((strategy, arg.name.span()));
            }
        }
    }
    Ok(config)
}

/// Whether the arguments name a strategy at all (valid or not).
fn strategy_named(args: &TokenStream) -> bool {
    args.clone().into_iter().any(|tree| {
        matches!(&tree, proc_macro2::TokenTree::Ident(ident) if ident == "key" || ident == "natural_key" || ident == "conditional")
    })
}

fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let strategy_given = strategy_named(&args);
    let config = parse_config(args, &mut errors);
    let func: ItemFn = syn::parse2(item)?;
    let config = config?;
    if func.sig.asyncness.is_none() {
        errors.spanned(
            func.sig.fn_token,
            "#[idempotent] needs an `async fn`: concurrent duplicates wait on the idempotency store",
        );
    }
    let Some((strategy, _)) = config.strategy.as_ref() else {
        // When a strategy argument was given but invalid, it is already reported.
        if !strategy_given {
            errors.push(syn::Error::new(
                Span::call_site(),
                "#[idempotent] needs a strategy: `key = EXPR`, `key = header(\"Idempotency-Key\")`, `natural_key = \"field\"` or `conditional`",
            ));
        }
        errors.finish()?;
        return Ok(quote! { #func });
    };
    let handler = matches!(strategy, Strategy::Header(_));
    if handler {
        check_handler_scope(&config, strategy_span(&config), &func, &mut errors);
    }
    if let (false, Some(Scope::Header(lit))) = (handler, &config.scope) {
        errors.spanned(lit, "`scope = header(..)` needs an HTTP handler with `key = header(..)`; on a plain fn give an expression");
    }
    match (&config.fingerprint, handler) {
        (Some(Fingerprint::Expr(fp)), true) => errors.spanned(fp, "a handler's fingerprint is its method, path and body; to fingerprint only some JSON fields write `fingerprint = fields(\"amount\", \"currency\")`"),
        (Some(Fingerprint::Fields(fields)), false) => errors.push(syn::Error::new(
            fields.first().map_or_else(Span::call_site, LitStr::span),
            "`fingerprint = fields(..)` selects fields of an HTTP request body and needs `key = header(..)`; on a plain fn give the bytes that identify the payload",
        )),
        _ => {}
    }
    if handler && !func.sig.generics.params.is_empty() {
        errors.spanned(
            &func.sig.generics,
            "#[idempotent(key = header(..))] does not support generic handlers",
        );
    }
    if let Strategy::Conditional = strategy {
        let durations = [
            (&config.ttl, "ttl"),
            (&config.lease, "lease"),
            (&config.wait, "wait"),
        ];
        for (duration, what) in durations {
            if let Some(duration) = duration {
                errors.push(syn::Error::new(
                    duration.span,
                    format!("`{what}` has no effect with `conditional`: no key is stored"),
                ));
            }
        }
        let fingerprint = match &config.fingerprint {
            Some(Fingerprint::Expr(expr)) => Some(expr.to_token_stream()),
            Some(Fingerprint::Fields(fields)) => fields.first().map(ToTokens::to_token_stream),
            None => None,
        };
        for (tokens, what) in [
            (
                config.store.as_ref().map(ToTokens::to_token_stream),
                "store",
            ),
            (fingerprint, "fingerprint"),
        ] {
            if let Some(tokens) = tokens {
                errors.spanned(
                    tokens,
                    format!("`{what}` has no effect with `conditional`: no key is stored"),
                );
            }
        }
    }
    errors.finish()?;
    match strategy {
        Strategy::Header(header) => Ok(handler_expansion(&config, header, func)),
        Strategy::Conditional => Ok(quote! { #func }),
        Strategy::Key(key) => Ok(plain_expansion(&config, key.to_token_stream(), func)),
        Strategy::Parts(parts) => Ok(plain_expansion(&config, parts_key(parts), func)),
        Strategy::Natural(expr) => Ok(plain_expansion(&config, expr.to_token_stream(), func)),
    }
}

/// `scope = principal` / `scope = none` (bare words), if that is what the scope says.
fn scope_keyword(config: &Config) -> Option<&'static str> {
    let Some(Scope::Expr(expr)) = &config.scope else {
        return None;
    };
    let Expr::Path(path) = &**expr else {
        return None;
    };
    ["principal", "none"]
        .into_iter()
        .find(|word| path.qself.is_none() && path.path.is_ident(word))
}

fn strategy_span(config: &Config) -> Span {
    config
        .strategy
        .as_ref()
        .map_or_else(Span::call_site, |(_, span)| *span)
}

/// Whether a handler parameter's type names `Principal` (`Extension<Principal>`,
/// `principal: Principal`): the handler already relies on an auth layer setting one.
fn takes_principal(func: &ItemFn) -> bool {
    fn names(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tree| match tree {
            proc_macro2::TokenTree::Ident(ident) => ident == "Principal",
            proc_macro2::TokenTree::Group(group) => names(group.stream()),
            _ => false,
        })
    }
    func.sig.inputs.iter().any(|input| match input {
        FnArg::Typed(typed) => names(typed.ty.to_token_stream()),
        FnArg::Receiver(_) => false,
    })
}

/// Keys of an HTTP handler are scoped by a caller, and whose keys they are is never a
/// surprise: with no `scope` and no `Principal` parameter, every request would get 401
/// `caller-unidentified` (no auth layer supplies a principal by default), so it is a compile
/// error that names the three choices.
fn check_handler_scope(config: &Config, at: Span, func: &ItemFn, errors: &mut Errors) {
    if config.scope.is_some() || takes_principal(func) {
        return;
    }
    errors.push(syn::Error::new(
        at,
        "#[idempotent] on a handler needs a caller scope, so that one caller never gets another's stored response: \
         add `scope = header(\"X-Tenant\")` (a header your gateway sets), \
         `scope = principal` (the `idemgate::http::Principal` your auth layer sets) \
         or `scope = none` (every caller shares the keys: one trusted client, a single-tenant service)",
    ));
}

/// `::idemgate::Key::new(&(a)).part(&(b))…`: the runtime's unambiguous encoding.
fn parts_key(parts: &[Expr]) -> TokenStream {
    let mut parts = parts.iter();
    let Some(first) = parts.next() else {
        return quote! { "" };
    };
    let rest = parts.map(|part| quote! { .part(&(#part)) });
    quote! { ::idemgate::Key::new(&(#first)) #(#rest)* }
}

fn options(config: &Config) -> TokenStream {
    let mut fields = Vec::new();
    if let Some(ttl) = &config.ttl {
        let ttl = ttl.tokens();
        fields.push(quote! { __idemgate_options.retention = #ttl; });
    }
    if let Some(lease) = &config.lease {
        let lease = lease.tokens();
        fields.push(quote! { __idemgate_options.lease = #lease; });
    }
    if let Some(wait) = &config.wait {
        let wait = wait.tokens();
        fields.push(quote! { __idemgate_options.wait = ::core::option::Option::Some(#wait); });
    }
    if fields.is_empty() {
        return quote! { ::idemgate::idempotency::Options::new() };
    }
    quote! {{
        let mut __idemgate_options = ::idemgate::idempotency::Options::new();
        #(#fields)*
        __idemgate_options
    }}
}

/// Plain async fn: `idempotency::run(store, scoped key, fingerprint, options, body)`.
fn plain_expansion(config: &Config, key: TokenStream, func: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let name = sig.ident.to_string();
    let operation = quote! { ::core::concat!(::core::module_path!(), "::", #name) };
    let scope = match (&config.scope, scope_keyword(config)) {
        (Some(_), Some("none")) => quote! { "" },
        (Some(Scope::Expr(expr)), _) => {
            quote! { &*::std::string::ToString::to_string(&(#expr)) }
        }
        _ => quote! { "" },
    };
    let store = match &config.store {
        Some(expr) => quote! { let __idemgate_store = #expr; },
        None => quote! { let __idemgate_store = ::idemgate::idempotency::default_store(); },
    };
    let fingerprint = match &config.fingerprint {
        Some(Fingerprint::Expr(expr)) => quote! {
            ::idemgate::idempotency::Fingerprint::of(::core::convert::AsRef::<[u8]>::as_ref(&(#expr)))
        },
        // rejected before expansion: `fields` is for handlers
        Some(Fingerprint::Fields(_)) | None => {
            quote! { ::idemgate::idempotency::Fingerprint::of(#operation.as_bytes()) }
        }
    };
    let options = options(config);
    let pin = pin_return_type(&sig.output);
    quote! {
        #(#attrs)*
        #vis #sig {
            let __idemgate_key = match ::idemgate::idempotency::ScopedKey::new(
                #scope,
                #operation,
                &*::std::string::ToString::to_string(&(#key)),
            ) {
                ::core::result::Result::Ok(key) => key,
                ::core::result::Result::Err(error) => {
                    return ::core::result::Result::Err(::core::convert::From::from(error));
                }
            };
            let __idemgate_fingerprint = #fingerprint;
            #store
            let __idemgate_options = #options;
            match ::idemgate::idempotency::run(
                &*__idemgate_store,
                &__idemgate_key,
                __idemgate_fingerprint,
                &__idemgate_options,
                move || async move {
                    #pin
                    #block
                },
            )
            .await
            {
                ::core::result::Result::Ok(outcome) => ::core::result::Result::Ok(outcome.into_inner()),
                ::core::result::Result::Err(error) => ::core::result::Result::Err(error),
            }
        }
    }
}

/// The `T` of a parameter typed `State<T>` (any path ending in `State`).
fn state_type(func: &ItemFn) -> Option<Type> {
    func.sig.inputs.iter().find_map(|input| {
        let FnArg::Typed(typed) = input else {
            return None;
        };
        let Type::Path(path) = &*typed.ty else {
            return None;
        };
        let last = path.path.segments.last()?;
        if last.ident != "State" {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::Type(ty) => Some(ty.clone()),
            _ => None,
        })
    })
}

fn is_actix_route(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| ACTIX_ROUTES.iter().any(|r| s.ident == r))
}

fn mentions_actix(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(ident) => ACTIX_MARKERS.iter().any(|m| ident == m),
        proc_macro2::TokenTree::Group(group) => mentions_actix(group.stream()),
        _ => false,
    })
}

/// An actix-web handler: it carries an actix route attribute, or its signature names actix
/// types. Anything else is an axum handler.
fn is_actix_handler(func: &ItemFn) -> bool {
    func.attrs.iter().any(is_actix_route) || mentions_actix(func.sig.to_token_stream())
}

/// axum handler: the original handler becomes a nested fn, called behind `http::Idempotency`;
/// an actix-web handler the same behind `http::actix::Idempotency`.
fn handler_expansion(config: &Config, header: &LitStr, func: ItemFn) -> TokenStream {
    let actix = is_actix_handler(&func);
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = func;
    let name = sig.ident.clone();
    let name_str = name.to_string();
    let inner = format_ident!("__idemgate_{}", name);
    sig.ident = inner.clone();
    let (docs, others): (Vec<_>, Vec<_>) = attrs
        .into_iter()
        .partition(|a| a.path().is_ident("doc") || (actix && is_actix_route(a)));
    let state = state_type(&ItemFn {
        attrs: Vec::new(),
        vis: vis.clone(),
        sig: sig.clone(),
        block: block.clone(),
    });
    let (state_param, state_value) = match &state {
        Some(ty) => (
            quote! { ::idemgate::http::__private::State(__idemgate_state): ::idemgate::http::__private::State<#ty>, },
            quote! { __idemgate_state },
        ),
        None => (TokenStream::new(), quote! { () }),
    };
    let protocol = if actix {
        quote! { ::idemgate::http::actix::Idempotency }
    } else {
        quote! { ::idemgate::http::Idempotency }
    };
    let mut builder = quote! {
        #protocol::new()
            .operation(::core::concat!(::core::module_path!(), "::", #name_str))
            .header(#header)
    };
    match (&config.scope, scope_keyword(config)) {
        (_, Some("principal")) => builder.extend(quote! { .scope_principal() }),
        (_, Some(_)) => builder.extend(quote! { .scope_none() }),
        (Some(Scope::Header(lit)), None) => builder.extend(quote! { .scope_header(#lit) }),
        (Some(Scope::Expr(expr)), None) => builder.extend(quote! { .scope_with(#expr) }),
        (None, None) => {}
    }
    if let Some(ttl) = &config.ttl {
        let ttl = ttl.tokens();
        builder.extend(quote! { .retention(#ttl) });
    }
    if let Some(lease) = &config.lease {
        let lease = lease.tokens();
        builder.extend(quote! { .lease(#lease) });
    }
    if let Some(wait) = &config.wait {
        let wait = wait.tokens();
        builder.extend(quote! { .wait(#wait) });
    }
    if let Some(store) = &config.store {
        builder.extend(quote! { .store(#store) });
    }
    if let Some(Fingerprint::Fields(fields)) = &config.fingerprint {
        builder.extend(quote! { .fingerprint_fields([#(#fields),*]) });
    }
    if actix {
        return quote! {
            #(#docs)*
            #vis async fn #name(
                __idemgate_request: ::idemgate::http::actix::__private::HttpRequest,
                __idemgate_payload: ::idemgate::http::actix::__private::WebPayload,
            ) -> ::idemgate::http::actix::__private::HttpResponse {
                #(#others)*
                #sig #block

                static __IDEMGATE_GUARD: ::std::sync::OnceLock<#protocol> = ::std::sync::OnceLock::new();
                let __idemgate_guard = __IDEMGATE_GUARD.get_or_init(|| #builder);
                __idemgate_guard
                    .handle(__idemgate_request, __idemgate_payload.into_inner(), move |request, payload| {
                        ::idemgate::http::actix::__private::call_handler(#inner, request, payload)
                    })
                    .await
            }
        };
    }
    quote! {
        #(#docs)*
        #vis async fn #name(
            #state_param
            __idemgate_request: ::idemgate::http::__private::Request,
        ) -> ::idemgate::http::__private::Response {
            #(#others)*
            #sig #block

            static __IDEMGATE_GUARD: ::std::sync::OnceLock<::idemgate::http::Idempotency> = ::std::sync::OnceLock::new();
            let __idemgate_guard = __IDEMGATE_GUARD.get_or_init(|| #builder);
            __idemgate_guard
                .handle(__idemgate_request, move |request| {
                    ::idemgate::http::__private::call_handler(#inner, request, #state_value)
                })
                .await
        }
    }
}
