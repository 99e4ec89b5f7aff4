//! Every supported shape compiles: free fn, &self, &mut self, generics + where, impl Trait,
//! `?` and `return`, owned Clone arguments, patterns, trait impls with async fn.
use idemgate::retry_policy;

#[derive(Debug)]
struct E;

impl idemgate::Retryable for E {
    fn retryability(&self) -> idemgate::Retryability {
        idemgate::Retryability::Transient
    }
}

impl From<idemgate::Error> for E {
    fn from(_: idemgate::Error) -> Self {
        E
    }
}

fn step(ok: bool) -> Result<u8, E> {
    if ok { Ok(1) } else { Err(E) }
}

#[retry_policy(budget = "none")]
pub async fn free(a: &str, b: String, mut c: u32) -> Result<usize, E> {
    c += 1;
    let n = step(c > 1)?;
    if a.is_empty() {
        return Ok(0);
    }
    Ok(a.len() + b.len() + usize::from(n))
}

#[retry_policy(max_attempts = 2, budget = "none")]
async fn generic<'a, T: AsRef<str> + Clone>(t: T, s: &'a str) -> Result<impl std::fmt::Display + 'a, E>
where
    T: Send,
{
    let _ = t.as_ref();
    Ok(s)
}

struct S(u8);

impl S {
    #[retry_policy(budget = "none")]
    async fn shared(&self) -> Result<u8, E> {
        Ok(self.0)
    }

    #[retry_policy(budget = "none")]
    async fn exclusive(&mut self, by: &mut u8) -> Result<u8, E> {
        self.0 += *by;
        *by += 1;
        Ok(self::helper(self.0))
    }
}

fn helper(x: u8) -> u8 {
    x
}

trait Api {
    async fn call(&self) -> Result<u8, E>;
}

impl Api for S {
    #[retry_policy(budget = "api")]
    async fn call(&self) -> Result<u8, E> {
        Ok(self.0)
    }
}

fn main() {
    let _ = free("a", String::new(), 0);
    let _ = generic(String::new(), "x");
    let mut s = S(1);
    let _ = s.shared();
    let mut by = 1;
    let _ = s.exclusive(&mut by);
    let _ = s.call();
}
