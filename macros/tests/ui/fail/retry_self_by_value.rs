use idemgate_macros::retry_policy;

struct Client;

impl Client {
    #[retry_policy(budget = "payments")]
    async fn call(self) -> Result<u32, String> {
        Ok(1)
    }
}

fn main() {
    let _ = Client.call();
}
