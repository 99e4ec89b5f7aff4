//! `#[retry_policy(...)]`: runs the body of an async fn once per attempt under a static
//! `idemgate::retry::RetryPolicy` (backoff with jitter, budget, breaker, one retry layer).
//!
//! Expansion, for `async fn f(&self, a: &A, b: B, c: &mut C) -> Result<T, E> { body }`:
//!
//! ```text
//! async fn f(&self, a: &A, b: B, c: &mut C) -> Result<T, E> {
//!     static POLICY: RetryPolicy = RetryPolicy::new().max_attempts(4)...;   // const, no allocation
//!     let baton_c = Mutex::new(Some(c));                          // &mut args: lent to one attempt at a time
//!     POLICY.run("path::f", || {
//!         let a = a;                                              // shared refs: copied
//!         let b = PerAttempt_b::per_attempt(&b);                  // owned args: cloned per attempt
//!         async move { let c = take(baton_c); /* pinned return type */ body }
//!     }).await
//! }
//! ```
//!
//! Owned arguments must be `Clone` (the error names the argument); `self` by value is rejected;
//! sync fns are rejected (a blocking retry would park an executor thread).

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, FnArg, ItemFn, LitStr, Pat, PatIdent, ReturnType, Type};

use idemgate_grammar::{attributes, defaults};

use crate::args::{
    duration_value, lit_int, parse_args, require_value, string_value, DurationArg, Errors, Seen,
};

enum Budget {
    Named(LitStr),
    Disabled(LitStr),
}

#[derive(Default)]
struct Policy {
    max_attempts: Option<(u32, Span)>,
    base: Option<DurationArg>,
    cap: Option<DurationArg>,
    max_elapsed: Option<DurationArg>,
    jitter: Option<(Ident, Span)>,
    retry_on: Option<Expr>,
    budget: Option<Budget>,
    breaker: Option<LitStr>,
}

fn parse_policy(args: TokenStream, errors: &mut Errors) -> syn::Result<Policy> {
    let args = parse_args(args)?;
    let mut policy = Policy::default();
    let mut seen = Seen::new(&attributes::RETRY_POLICY);
    for arg in &args {
        let Some(name) = seen.accept(arg, errors) else {
            continue;
        };
        match name.as_str() {
            "max_attempts" => {
                let Some(value) = require_value(arg, "4", errors) else {
                    continue;
                };
                match lit_int(value).map(|lit| (lit, lit.base10_parse::<u32>())) {
                    Some((lit, Ok(0))) => errors.spanned(
                        lit,
                        "`max_attempts` must be at least 1 (it counts the first attempt; 1 means no retries)",
                    ),
                    Some((lit, Ok(n))) => policy.max_attempts = Some((n, lit.span())),
                    Some((lit, Err(_))) => errors.spanned(lit, "`max_attempts` must fit in a u32"),
                    None => errors.spanned(value, "`max_attempts` expects an integer literal, e.g. `max_attempts = 4`"),
                }
            }
            "base" => policy.base = duration_value(arg, "\"200ms\"", errors),
            "cap" => policy.cap = duration_value(arg, "\"5s\"", errors),
            "max_elapsed" => policy.max_elapsed = duration_value(arg, "\"10s\"", errors),
            "jitter" => {
                let Some(lit) = string_value(arg, "\"full\"", errors) else {
                    continue;
                };
                let text = lit.value();
                if !attributes::JITTERS.contains(&text.as_str()) {
                    errors.spanned(
                        &lit,
                        format!(
                            "unknown jitter {text:?}; expected one of {}",
                            attributes::JITTERS
                                .iter()
                                .map(|j| format!("{j:?}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                    continue;
                }
                // `idemgate::retry::Jitter`'s variants are the grammar's words, capitalised
                let variant: String = text
                    .chars()
                    .enumerate()
                    .map(|(i, c)| if i == 0 { c.to_ascii_uppercase() } else { c })
                    .collect();
                let variant = variant.as_str();
                policy.jitter = Some((Ident::new(variant, lit.span()), lit.span()));
            }
            "retry_on" => {
                let Some(value) = require_value(arg, "is_transient", errors) else {
                    continue;
                };
                policy.retry_on = Some(value.clone());
            }
            "budget" => {
                let Some(lit) = string_value(arg, "\"payments\"", errors) else {
                    continue;
                };
                let text = lit.value();
                if text.trim().is_empty() {
                    errors.spanned(
                        &lit,
                        "`budget` needs a name, or \"none\" to run without a retry budget",
                    );
                } else if text == defaults::NO_BUDGET {
                    policy.budget = Some(Budget::Disabled(lit));
                } else {
                    policy.budget = Some(Budget::Named(lit));
                }
            }
            "breaker" => {
                let Some(lit) = string_value(arg, "\"psp\"", errors) else {
                    continue;
                };
                if lit.value().trim().is_empty() {
                    errors.spanned(&lit, "`breaker` needs a name");
                } else {
                    policy.breaker = Some(lit);
                }
            }
            _ => {}
        }
    }
    if let (Some(base), Some(cap)) = (&policy.base, &policy.cap) {
        if base.millis > cap.millis {
            errors.push(syn::Error::new(
                base.span,
                "`base` is larger than `cap`; the first backoff would exceed the cap",
            ));
        }
    }
    Ok(policy)
}

impl Policy {
    /// The const builder chain; usable in a `static`.
    fn builder(&self) -> TokenStream {
        let mut chain = quote! { ::idemgate::retry::RetryPolicy::new() };
        if let Some((n, span)) = self.max_attempts {
            chain.extend(quote_spanned! {span=> .max_attempts(#n) });
        }
        for (method, value) in [
            ("base", &self.base),
            ("cap", &self.cap),
            ("max_elapsed", &self.max_elapsed),
        ] {
            if let Some(duration) = value {
                let method = Ident::new(method, duration.span);
                let duration = duration.tokens();
                chain.extend(quote! { .#method(#duration) });
            }
        }
        if let Some((variant, span)) = &self.jitter {
            chain.extend(quote_spanned! {*span=> .jitter(::idemgate::retry::Jitter::#variant) });
        }
        match &self.budget {
            Some(Budget::Named(name)) => chain.extend(quote! { .budget(#name) }),
            Some(Budget::Disabled(lit)) => {
                chain.extend(quote_spanned! {lit.span()=> .no_budget() })
            }
            None => {}
        }
        if let Some(name) = &self.breaker {
            chain.extend(quote! { .breaker(#name) });
        }
        chain
    }
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let policy = parse_policy(args, &mut errors);
    let func: ItemFn = syn::parse2(item)?;
    let policy = match policy {
        Ok(policy) => policy,
        Err(error) => {
            errors.push(error);
            Policy::default()
        }
    };
    if func.sig.asyncness.is_none() {
        errors.spanned(
            func.sig.fn_token,
            "#[retry_policy] needs an `async fn`: it sleeps between attempts, and a blocking retry would park an executor thread; \
             make the fn async (call blocking code through tokio::task::spawn_blocking inside it)",
        );
    }
    let plan = plan_arguments(&func, &mut errors);
    errors.finish()?;
    Ok(generate(&policy, func, plan))
}

/// How each argument reaches each attempt.
struct ArgumentPlan {
    /// The signature with patterns replaced by plain identifiers (types unchanged).
    inputs: Vec<FnArg>,
    /// Items declared once in the fn body (per-argument traits, the baton type).
    items: Vec<TokenStream>,
    /// `let` statements before the executor runs (batons for `&mut` arguments).
    before: Vec<TokenStream>,
    /// Statements run in the closure before each attempt's future is created.
    per_attempt: Vec<TokenStream>,
    /// Statements at the start of each attempt's future.
    in_attempt: Vec<TokenStream>,
    rename_self: bool,
}

enum Kind {
    Shared,
    Exclusive,
    Owned,
}

fn kind_of(ty: &Type) -> Kind {
    match ty {
        Type::Reference(r) if r.mutability.is_some() => Kind::Exclusive,
        Type::Reference(_) => Kind::Shared,
        Type::Group(g) => kind_of(&g.elem),
        Type::Paren(p) => kind_of(&p.elem),
        _ => Kind::Owned,
    }
}

const BATON: &str = "__IdemgateBaton";

fn plan_arguments(func: &ItemFn, errors: &mut Errors) -> ArgumentPlan {
    let mut plan = ArgumentPlan {
        inputs: Vec::new(),
        items: Vec::new(),
        before: Vec::new(),
        per_attempt: Vec::new(),
        in_attempt: Vec::new(),
        rename_self: false,
    };
    let baton = format_ident!("{}", BATON);
    let mut needs_baton = false;
    for (index, input) in func.sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                plan.inputs.push(input.clone());
                if receiver.reference.is_none() && receiver.colon_token.is_none() {
                    errors.spanned(
                        receiver,
                        "#[retry_policy] runs the body once per attempt, but `self` is taken by value and the first attempt would consume it; \
                         take `&self` or `&mut self`",
                    );
                    continue;
                }
                let exclusive = match kind_of(&receiver.ty) {
                    Kind::Exclusive => true,
                    Kind::Shared => false,
                    Kind::Owned => {
                        errors.spanned(
                            receiver,
                            "#[retry_policy] runs the body once per attempt, but `self` is taken by value and the first attempt would consume it; \
                             take `&self` or `&mut self`",
                        );
                        continue;
                    }
                };
                if exclusive {
                    needs_baton = true;
                    plan.rename_self = true;
                    let slot = format_ident!("__idemgate_baton_self");
                    plan.before.push(quote! {
                        let #slot = ::std::sync::Mutex::new(::core::option::Option::Some(self));
                    });
                    plan.per_attempt.push(quote! { let #slot = &#slot; });
                    plan.in_attempt.push(quote! {
                        let mut __idemgate_lease_self = #baton::take(#slot);
                        let __idemgate_self = __idemgate_lease_self.get();
                    });
                }
            }
            FnArg::Typed(typed) => {
                let (outer, inner): (Ident, TokenStream) = match &*typed.pat {
                    Pat::Ident(PatIdent {
                        by_ref: None,
                        subpat: None,
                        ident,
                        mutability,
                        ..
                    }) => (ident.clone(), quote! { #mutability #ident }),
                    pat => (
                        format_ident!("__idemgate_arg{}", index),
                        pat.to_token_stream(),
                    ),
                };
                let mut outer_typed = typed.clone();
                outer_typed.pat = Box::new(Pat::Ident(PatIdent {
                    attrs: Vec::new(),
                    by_ref: None,
                    mutability: None,
                    ident: outer.clone(),
                    subpat: None,
                }));
                plan.inputs.push(FnArg::Typed(outer_typed));
                let span = typed.span();
                match kind_of(&typed.ty) {
                    // A shared reference is `Copy`: each attempt's `async move` copies it out
                    // of the closure as is. Only a pattern or `mut` needs a rebinding.
                    Kind::Shared if outer == inner.to_string() => {}
                    Kind::Shared => plan
                        .per_attempt
                        .push(quote_spanned! {span=> let #inner = #outer; }),
                    Kind::Exclusive => {
                        needs_baton = true;
                        let slot = format_ident!("__idemgate_baton_{}", index);
                        let lease = format_ident!("__idemgate_lease_{}", index);
                        plan.before.push(quote! {
                            let #slot = ::std::sync::Mutex::new(::core::option::Option::Some(#outer));
                        });
                        plan.per_attempt.push(quote! { let #slot = &#slot; });
                        plan.in_attempt.push(quote_spanned! {span=>
                            let mut #lease = #baton::take(#slot);
                            let #inner = #lease.get();
                        });
                    }
                    Kind::Owned => {
                        let shown = match &*typed.pat {
                            Pat::Ident(p) => p.ident.to_string(),
                            pat => pat.to_token_stream().to_string(),
                        };
                        let tr = format_ident!("__IdemgatePerAttempt{}", index);
                        let message = format!(
                            "#[retry_policy] runs the body once per attempt, so the owned argument `{shown}` is cloned for each attempt, but `{{Self}}` is not `Clone`"
                        );
                        let label = format!("`{shown}` would be consumed by the first attempt");
                        let note = format!(
                            "take `{shown}` by reference, make `{{Self}}` implement `Clone`, or move the retried call into a helper that borrows it"
                        );
                        plan.items.push(quote! {
                            #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
                            trait #tr: ::core::marker::Sized {
                                fn __idemgate_per_attempt(&self) -> Self;
                            }
                            impl<__T: ::core::clone::Clone> #tr for __T {
                                #[inline(always)]
                                fn __idemgate_per_attempt(&self) -> Self {
                                    ::core::clone::Clone::clone(self)
                                }
                            }
                        });
                        plan.per_attempt.push(quote_spanned! {span=>
                            let #inner = #tr::__idemgate_per_attempt(&#outer);
                        });
                    }
                }
            }
        }
    }
    if needs_baton {
        plan.items.push(quote! {
            /// Lends a `&mut` argument to one attempt at a time; gives it back when the attempt ends.
            struct #baton<'s, 'a, T: ?::core::marker::Sized> {
                slot: &'s ::std::sync::Mutex<::core::option::Option<&'a mut T>>,
                value: ::core::option::Option<&'a mut T>,
            }
            impl<'s, 'a, T: ?::core::marker::Sized> #baton<'s, 'a, T> {
                fn take(slot: &'s ::std::sync::Mutex<::core::option::Option<&'a mut T>>) -> Self {
                    let value = match slot.lock() {
                        ::core::result::Result::Ok(mut guard) => guard.take(),
                        ::core::result::Result::Err(poisoned) => poisoned.into_inner().take(),
                    };
                    #baton { slot, value }
                }
                fn get(&mut self) -> &mut T {
                    match &mut self.value {
                        ::core::option::Option::Some(value) => value,
                        ::core::option::Option::None => ::core::unreachable!("#[retry_policy] runs one attempt at a time"),
                    }
                }
            }
            impl<'s, 'a, T: ?::core::marker::Sized> ::core::ops::Drop for #baton<'s, 'a, T> {
                fn drop(&mut self) {
                    if let ::core::option::Option::Some(value) = self.value.take() {
                        match self.slot.lock() {
                            ::core::result::Result::Ok(mut guard) => *guard = ::core::option::Option::Some(value),
                            ::core::result::Result::Err(poisoned) => *poisoned.into_inner() = ::core::option::Option::Some(value),
                        }
                    }
                }
            }
        });
    }
    plan
}

/// `if false { let x: Ret = loop {}; return x; }`: fixes the attempt future's output type to the
/// fn's return type, so `?` and `return` infer exactly as in the original body.
pub(crate) fn pin_return_type(output: &ReturnType) -> TokenStream {
    let ty = match output {
        ReturnType::Default => quote! { () },
        ReturnType::Type(_, ty) => {
            if contains_impl(ty.to_token_stream()) {
                return TokenStream::new();
            }
            ty.to_token_stream()
        }
    };
    let span = output.span();
    quote_spanned! {span=>
        #[allow(unknown_lints, unreachable_code, clippy::diverging_sub_expression, clippy::empty_loop,
                clippy::let_unit_value, clippy::needless_return, clippy::unreachable)]
        if false {
            let __idemgate_fake_return: #ty = loop {};
            return __idemgate_fake_return;
        }
    }
}

fn contains_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => contains_impl(group.stream()),
        _ => false,
    })
}

/// Replaces the `self` value (not `self::` paths) with `__idemgate_self` in the body.
fn rename_self(tokens: TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(trees.len());
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Ident(ident) if ident == "self" => {
                let is_path = matches!(
                    (trees.get(i + 1), trees.get(i + 2)),
                    (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':'
                );
                if is_path {
                    out.push(tree.clone());
                } else {
                    out.push(TokenTree::Ident(Ident::new(
                        "__idemgate_self",
                        ident.span(),
                    )));
                }
            }
            TokenTree::Group(group) => {
                let mut renamed = Group::new(group.delimiter(), rename_self(group.stream()));
                renamed.set_span(group.span());
                out.push(TokenTree::Group(renamed));
            }
            other => out.push(other.clone()),
        }
    }
    out.into_iter().collect()
}

fn generate(policy: &Policy, func: ItemFn, plan: ArgumentPlan) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = func;
    sig.inputs = plan.inputs.into_iter().collect();
    let name = sig.ident.to_string();
    let builder = policy.builder();
    let pin = pin_return_type(&sig.output);
    let body = if plan.rename_self {
        rename_self(block.to_token_stream())
    } else {
        block.to_token_stream()
    };
    let ArgumentPlan {
        items,
        before,
        per_attempt,
        in_attempt,
        ..
    } = plan;
    let operation = quote! { ::core::concat!(::core::module_path!(), "::", #name) };
    let mut items = items;
    let call = match (&policy.breaker, &policy.retry_on) {
        // No breaker: nothing refuses the first attempt, so any error type works.
        (None, Some(classify)) => quote! {
            __IDEMGATE_POLICY.run_classified_always(#operation, #classify, __idemgate_attempt)
        },
        (None, None) => quote! { __IDEMGATE_POLICY.run_always(#operation, __idemgate_attempt) },
        // A breaker can refuse before any attempt: the error type must say "refused".
        (Some(breaker), retry_on) => {
            items.push(refusal_check(breaker));
            let span = breaker.span();
            let refused = quote_spanned! {span=>
                |__idemgate_error: ::idemgate::Error| __idemgate_refused(__idemgate_error)
            };
            let classify = match retry_on {
                Some(classify) => quote! {
                    {
                        let __idemgate_classify = #classify;
                        move |__idemgate_result: &::core::result::Result<_, _>| {
                            __idemgate_result.as_ref().err().map(|__idemgate_error| {
                                ::idemgate::Classification::into_retryability(__idemgate_classify(__idemgate_error))
                            })
                        }
                    }
                },
                None => quote! {
                    |__idemgate_result: &::core::result::Result<_, _>| {
                        __idemgate_result.as_ref().err().map(::idemgate::Retryable::retryability)
                    }
                },
            };
            quote! {
                __IDEMGATE_POLICY.run_outcome_or(#operation, #classify, #refused, __idemgate_attempt)
            }
        }
    };
    let body = Group::new(Delimiter::Brace, body);
    quote! {
        #(#attrs)*
        #vis #sig {
            #(#items)*
            static __IDEMGATE_POLICY: ::idemgate::retry::RetryPolicy = #builder;
            #(#before)*
            let __idemgate_attempt = || {
                #(#per_attempt)*
                async move {
                    #(#in_attempt)*
                    #pin
                    #body
                }
            };
            #call.await
        }
    }
}

/// The check a breaker policy needs: its error type can stand for "refused by the breaker".
/// A trait with a diagnostic, so a missing `From<idemgate::Error>` is explained at the
/// `breaker` argument instead of as a raw trait-bound error.
fn refusal_check(breaker: &LitStr) -> TokenStream {
    let name = breaker.value();
    let message = format!(
        "#[retry_policy(breaker = {name:?})] can refuse a call before any attempt (while the breaker is open), but the error type `{{Self}}` cannot say so: it does not implement `From<idemgate::Error>`"
    );
    let label = format!("the breaker `{name}` can refuse the call");
    let note = "add `impl From<idemgate::Error> for {Self}` (e.g. a `Refused(idemgate::Error)` variant), or remove `breaker` (a policy without a breaker works with any error type)";
    let span = breaker.span();
    quote_spanned! {span=>
        #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
        trait __IdemgateRefusable: ::core::marker::Sized {
            fn __idemgate_refused(error: ::idemgate::Error) -> Self;
        }
        impl<__E: ::core::convert::From<::idemgate::Error>> __IdemgateRefusable for __E {
            #[inline(always)]
            fn __idemgate_refused(error: ::idemgate::Error) -> Self {
                ::core::convert::From::from(error)
            }
        }
        #[inline(always)]
        fn __idemgate_refused<__E: __IdemgateRefusable>(error: ::idemgate::Error) -> __E {
            <__E as __IdemgateRefusable>::__idemgate_refused(error)
        }
    }
}
