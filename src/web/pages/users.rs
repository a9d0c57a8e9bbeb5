//! Konta (administrators): who may use the station, in which role.

use crate::records::account::{self, Role};
use crate::web::auth::{admin_only, Change, Page};
use crate::web::{layout, App, Refusal};
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;

pub async fn page(State(app): State<App>, p: Page) -> Result<Markup, Refusal> {
    admin_only(&p)?;
    let users = app.store.users().await?;
    let body = html! {
        section.panel {
            table {
                thead { tr { th { "Login" } th { "Imię i nazwisko" } th { "Rola" } th { "Stan" } th {} } }
                tbody {
                    @for u in &users {
                        tr {
                            td { (u.login) } td { (u.name) } td { (u.role.label_pl()) }
                            td { (if u.disabled { "wyłączone" } else { "aktywne" }) }
                            td {
                                @if !u.disabled && u.login != p.user.login {
                                    form.inline method="post" action={ "/konta/" (u.login) "/wylacz" } {
                                        (layout::csrf(&p))
                                        button.danger type="submit" { "Wyłącz" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.panel {
            h2 { "Nowe konto" }
            form.row method="post" action="/konta" {
                (layout::csrf(&p))
                label { "Login" input name="login" required pattern="[a-z0-9._-]{2,32}" autocomplete="off"; }
                label { "Imię i nazwisko" input name="name" required; }
                label { "Rola" select name="role" {
                    option value="operator" { "operator" }
                    option value="auditor" { "audytor" }
                    option value="admin" { "administrator" }
                } }
                label { "Hasło (min. " (account::MIN_PASSWORD) " znaków)" input name="password" type="password" required autocomplete="new-password"; }
                button.primary type="submit" { "Dodaj konto" }
            }
        }
    };
    Ok(layout::page(&p, "/konta", "Konta", body))
}

#[derive(Deserialize)]
pub struct NewUser {
    login: String,
    name: String,
    role: String,
    password: String,
}

pub async fn add(State(app): State<App>, c: Change<NewUser>) -> Result<Response, Refusal> {
    admin_only(&c.page)?;
    let f = c.form;
    let role: Role = f
        .role
        .parse()
        .map_err(|_| Refusal::Invalid("Nieznana rola.".into()))?;
    let login = f.login.trim().to_string();
    if let Err(e) = account::check_login(&login).and(account::check_password(&f.password)) {
        return crate::web::refused("/konta", e.into());
    }
    let password = f.password;
    let hash = tokio::task::spawn_blocking(move || account::hash_password(&password))
        .await
        .map_err(|e| Refusal::Internal(e.to_string()))?;
    if let Err(e) = app
        .store
        .add_user(&login, &f.name, role, &hash, &c.page.actor())
        .await
    {
        return crate::web::refused("/konta", e);
    }
    Ok(layout::redirect(
        "/konta",
        true,
        &format!("Konto {login} dodane."),
    ))
}

pub async fn disable(
    State(app): State<App>,
    Path(login): Path<String>,
    c: Change<crate::web::auth::Empty>,
) -> Result<Response, Refusal> {
    admin_only(&c.page)?;
    if login == c.page.user.login {
        return Ok(layout::redirect(
            "/konta",
            false,
            "Nie można wyłączyć własnego konta.",
        ));
    }
    if let Err(e) = app.store.disable_user(&login, &c.page.actor()).await {
        return crate::web::refused("/konta", e);
    }
    Ok(layout::redirect(
        "/konta",
        true,
        &format!("Konto {login} wyłączone."),
    ))
}
