//! One broker, every page of the console: topics and subscriptions created
//! through forms, test messages published, the backlog seen rising and
//! falling with pull and ack, a message nacked to the dead-letter topic and
//! redriven, a consumer group's member, a rebalance, a delete with
//! confirmation, an error's title and detail.

use api::types::JoinGroupRequest;
use testkit::cluster::{Storage, TestCluster};

use crate::page::{
    nav, open_console, outside_request_is_caught, outside_requests, shot, wait_notice, wait_page,
    wait_text,
};
use crate::webdriver::Browser;

/// Backlog rises with publishes and falls with acks, all through the UI.
#[test_log::test(tokio::test(flavor = "multi_thread", worker_threads = 2))]
async fn a_user_operates_topics_subscriptions_dead_letters_groups_and_the_cluster_in_a_browser()
-> anyhow::Result<()> {
    let cluster = TestCluster::start(1, Storage::Memory).await?;
    let base = format!("http://{}", cluster.node(1).client_addr);
    let browser = Browser::start("single-node").await?;
    open_console(&browser, &base).await?;
    browser
        .wait_for(
            "the leader on the overview",
            "document.getElementById('stat-leader')?.textContent === '1'",
        )
        .await?;
    shot(&browser, "01-overview").await?;

    // Topics: create two; creating one again shows the problem.
    nav(&browser, "topics").await?;
    create_topic(&browser, "orders", "1").await?;
    create_topic(&browser, "orders-dead", "2").await?;
    create_topic(&browser, "orders", "1").await?;
    browser
        .wait_for(
            "the ALREADY_EXISTS problem in the banner",
            "!document.getElementById('error').hidden \
             && document.getElementById('error-title').textContent === 'Already exists' \
             && document.getElementById('error-detail').textContent.includes('orders')",
        )
        .await?;
    shot(&browser, "02-topics-with-error").await?;

    // Subscriptions: one that dead-letters after 5 attempts, redelivering at once.
    nav(&browser, "subscriptions").await?;
    let form = "#create-subscription";
    browser
        .type_into(&format!("{form} [name=name]"), "orders-billing")
        .await?;
    browser
        .type_into(&format!("{form} [name=topic]"), "orders")
        .await?;
    browser
        .type_into(&format!("{form} [name=deadLetterTopic]"), "orders-dead")
        .await?;
    browser
        .type_into(&format!("{form} [name=maxDeliveryAttempts]"), "5")
        .await?;
    browser
        .type_into(&format!("{form} [name=minimumBackoff]"), "0s")
        .await?;
    browser
        .type_into(&format!("{form} [name=maximumBackoff]"), "0s")
        .await?;
    browser
        .click(&format!("{form} button[type=submit]"))
        .await?;
    wait_notice(&browser, "created subscription orders-billing").await?;
    wait_text(&browser, "[data-backlog='orders-billing']", "0").await?;

    // Publish three test messages from the topic's page.
    open_link(&browser, "#/topics/orders", "topics").await?;
    publish(&browser, "hello console", "3").await?;
    shot(&browser, "03-topic").await?;

    // The backlog rises on the subscriptions page, by polling.
    nav(&browser, "subscriptions").await?;
    wait_text(&browser, "[data-backlog='orders-billing']", "3").await?;
    shot(&browser, "04-subscriptions").await?;

    // Pull and ack: the backlog falls to zero.
    open_link(&browser, "#/subscriptions/orders-billing", "subscriptions").await?;
    wait_text(&browser, "#sub-backlog", "3").await?;
    browser.click("#pull button[type=submit]").await?;
    wait_notice(&browser, "pulled 3 message(s)").await?;
    browser
        .wait_for(
            "the pulled data",
            "document.querySelector('#pulled pre')?.textContent === 'hello console'",
        )
        .await?;
    shot(&browser, "05-subscription-pulled").await?;
    browser.click("#ack-all").await?;
    wait_notice(&browser, "acknowledged 3 message(s)").await?;
    wait_text(&browser, "#sub-backlog", "0").await?;

    // A poison message: nacked until it is dead-lettered.
    open_link(&browser, "#/topics/orders", "topics").await?;
    publish(&browser, "{\"poison\":true}", "1").await?;
    open_link(&browser, "#/subscriptions/orders-billing", "subscriptions").await?;
    nack_until_dead_lettered(&browser).await?;

    // Browse it as hex on the dead-letter page, then redrive it.
    nav(&browser, "dead-letters").await?;
    wait_text(&browser, "[data-dead-lettered='orders-billing']", "1").await?;
    open_link(&browser, "#/dead-letters/orders-billing", "dead-letters").await?;
    browser
        .wait_for(
            "the dead letter",
            "document.querySelector('#dead-letters pre')?.textContent.includes('poison')",
        )
        .await?;
    browser.click("select[name=view] option[value=hex]").await?;
    browser
        .wait_for(
            "the hex view",
            "document.querySelector('#dead-letters pre')?.textContent.startsWith('7b 22 70 6f')",
        )
        .await?;
    shot(&browser, "06-dead-letters").await?;
    browser.click("#redrive button[type=submit]").await?;
    browser.click("#confirm-ok").await?;
    wait_notice(&browser, "redrove 1 message(s)").await?;
    nav(&browser, "subscriptions").await?;
    wait_text(&browser, "[data-backlog='orders-billing']", "1").await?;

    // A consumer group with one member, joined by a client.
    let form = "#create-subscription";
    browser
        .type_into(&format!("{form} [name=name]"), "orders-group")
        .await?;
    browser
        .type_into(&format!("{form} [name=topic]"), "orders")
        .await?;
    browser
        .click(&format!(
            "{form} select[name=type] option[value=partitioned]"
        ))
        .await?;
    browser
        .click(&format!("{form} button[type=submit]"))
        .await?;
    wait_notice(&browser, "created subscription orders-group").await?;
    let member = cluster
        .client(1)
        .join_group("orders-group", &JoinGroupRequest::default())
        .await?;
    nav(&browser, "groups").await?;
    browser
        .wait_for(
            "the member on the groups page",
            &format!(
                "document.querySelector(\"[data-group='orders-group']\")?.textContent.includes('{}')",
                member.member_id
            ),
        )
        .await?;
    shot(&browser, "07-groups").await?;

    // The cluster: a dry run, then apply with confirmation.
    nav(&browser, "cluster").await?;
    browser.click("#rebalance-dry-run").await?;
    browser
        .wait_for(
            "the dry run",
            "document.getElementById('rebalance-summary')?.textContent.startsWith('Dry run')",
        )
        .await?;
    browser.click("#rebalance-apply").await?;
    browser.click("#confirm-ok").await?;
    browser
        .wait_for(
            "the applied rebalance",
            "document.getElementById('rebalance-summary')?.textContent.startsWith('Applied')",
        )
        .await?;
    shot(&browser, "08-cluster").await?;

    // Delete with confirmation: cancelled first, then confirmed.
    nav(&browser, "topics").await?;
    open_link(&browser, "#/topics/orders-dead", "topics").await?;
    browser.click("#delete-topic").await?;
    browser.click("#confirm-cancel").await?;
    wait_page(&browser, "topics").await?;
    anyhow::ensure!(
        cluster.client(1).get_topic("orders-dead").await.is_ok(),
        "cancel keeps the topic"
    );
    browser.click("#delete-topic").await?;
    browser.click("#confirm-ok").await?;
    browser
        .wait_for("the topic list without orders-dead", "location.hash === '#/topics' && document.getElementById('page').dataset.ready === 'true' && !document.querySelector(\"a[href='#/topics/orders-dead']\")")
        .await?;
    shot(&browser, "09-topics-after-delete").await?;

    let outside = outside_requests(&browser, &base).await?;
    anyhow::ensure!(
        outside.is_empty(),
        "requests outside the server: {outside:?}"
    );
    outside_request_is_caught(&browser, &base).await?;
    browser.quit().await;
    cluster.shutdown().await;
    Ok(())
}

async fn create_topic(browser: &Browser, name: &str, partitions: &str) -> anyhow::Result<()> {
    browser.type_into("#create-topic [name=name]", name).await?;
    browser
        .type_into("#create-topic [name=partitions]", partitions)
        .await?;
    browser.click("#create-topic button[type=submit]").await?;
    browser
        .wait_for(
            &format!("topic {name} created or refused"),
            &format!(
                "!document.getElementById('error').hidden || (document.getElementById('notice').textContent === 'created topic {name}' && !!document.querySelector(\"a[href='#/topics/{name}']\"))"
            ),
        )
        .await?;
    Ok(())
}

async fn publish(browser: &Browser, data: &str, copies: &str) -> anyhow::Result<()> {
    browser.type_into("#publish [name=data]", data).await?;
    browser.type_into("#publish [name=copies]", copies).await?;
    browser.click("#publish button[type=submit]").await?;
    wait_notice(browser, &format!("published {copies} message(s)")).await
}

/// Clicks the link to `hash` and waits for its page.
async fn open_link(browser: &Browser, hash: &str, page: &str) -> anyhow::Result<()> {
    browser
        .wait_for(
            &format!("a link to {hash}"),
            &format!("!!document.querySelector(\"a[href='{hash}']\")"),
        )
        .await?;
    browser.click(&format!("a[href='{hash}']")).await?;
    browser
        .wait_for(
            &format!("{hash} open"),
            &format!("location.hash === '{hash}'"),
        )
        .await?;
    wait_page(browser, page).await
}

/// Pulls and nacks until the subscription counts one dead letter (at most
/// a bounded number of rounds: the policy allows 5 attempts).
async fn nack_until_dead_lettered(browser: &Browser) -> anyhow::Result<()> {
    for _ in 0..30 {
        let dead = browser
            .run(
                "return document.getElementById('sub-dead-lettered')?.textContent;",
                serde_json::json!([]),
            )
            .await?;
        if dead == "1" {
            return Ok(());
        }
        browser.click("#pull button[type=submit]").await?;
        wait_notice(browser, "pulled").await?;
        let rows = browser
            .run(
                "return document.querySelectorAll('#pulled pre').length;",
                serde_json::json!([]),
            )
            .await?;
        if rows != 0 {
            browser.click("#nack-all").await?;
            wait_notice(browser, "nacked 1 message(s)").await?;
        }
    }
    anyhow::bail!("the poison message was not dead-lettered after 30 rounds")
}
