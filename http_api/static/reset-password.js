// The page a reset link opens (token in the query), or, without one, a form asking for a link.
const token = new URLSearchParams(location.search).get("token") || "";
const result = document.getElementById("result");

async function post(path, payload) {
  const res = await fetch(path, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify(payload),
  });
  const body = await res.json();
  result.textContent = res.ok ? body.message : body.error.message;
  return res.ok;
}

const form = document.getElementById(token ? "reset" : "forgot");
form.hidden = false;
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const done = token
    ? await post("/api/v1/auth/password/reset", {token, new_password: form.new_password.value})
    : await post("/api/v1/auth/password/forgot", {email: form.email.value});
  if (done) form.hidden = true;
});
