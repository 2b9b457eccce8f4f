// The page a TV's code leads to (RFC 8628 verification_uri): sign in, enter the code, approve.
// The access token lives in this page only; nothing is stored.
const result = document.getElementById("result");
const forms = {
  signin: document.getElementById("signin"),
  code: document.getElementById("code"),
  decide: document.getElementById("decide"),
};
let token = "";
let userCode = new URLSearchParams(location.search).get("user_code") || "";

function show(name) {
  for (const [key, form] of Object.entries(forms)) form.hidden = key !== name;
}

async function call(path, init) {
  const res = await fetch(path, init);
  const body = await res.json();
  if (!res.ok) result.textContent = body.error.message;
  return res.ok ? body : null;
}

function api(path, payload) {
  return call(path, {
    method: "POST",
    headers: {"Content-Type": "application/json", Authorization: `Bearer ${token}`},
    body: JSON.stringify(payload),
  });
}

async function lookup() {
  const found = await api("/api/v1/auth/device/lookup", {user_code: userCode});
  if (!found) return show("code");
  document.getElementById("device").textContent = found.device_name;
  document.getElementById("client").textContent = found.client_id;
  result.textContent = "";
  show("decide");
}

async function decide(decision) {
  const done = await api("/api/v1/auth/device/approve", {user_code: userCode, decision});
  if (!done) return show("code");
  show(null);
  result.textContent = done.status === "approved"
    ? `${done.device.device_name} is signed in. You can close this page.`
    : `${done.device.device_name} was not signed in.`;
}

forms.signin.addEventListener("submit", async (event) => {
  event.preventDefault();
  const tokens = await call("/api/v1/auth/token", {
    method: "POST",
    body: new URLSearchParams({
      username: forms.signin.username.value,
      password: forms.signin.password.value,
    }),
  });
  if (!tokens) return;
  token = tokens.access_token;
  result.textContent = "";
  forms.code.user_code.value = userCode;
  if (userCode) await lookup();
  else show("code");
});
forms.code.addEventListener("submit", async (event) => {
  event.preventDefault();
  userCode = forms.code.user_code.value;
  await lookup();
});
forms.decide.addEventListener("submit", (event) => {
  event.preventDefault();
  decide("approve");
});
document.getElementById("deny").addEventListener("click", () => decide("deny"));
show("signin");
