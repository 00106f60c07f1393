/* Passkeys on Janua's pages (login/passkey*.go, templates/pages/_passkey.html).
 *
 * Every box with data-passkey runs one WebAuthn ceremony: "login"
 * (passwordless sign-in, from its button and from the email field's
 * autofill), "factor" (a second factor) or "register" (a new passkey). A
 * ceremony is two JSON posts: its options, then the authenticator's answer;
 * the server answers the second with {"redirect": url} and the page goes
 * there. Requests carry the page's CSRF token in X-CSRF-Token and the
 * page's query (its flow). Binary fields travel as base64url (WebAuthn
 * Level 3 §5.1.8, §5.1.10). The box stays hidden where the browser cannot
 * use passkeys; errors go to its #passkey-error, a role=alert region.
 * No inline script: the page's CSP allows only this file. */
(function () {
  'use strict';

  var supported = typeof window.PublicKeyCredential === 'function' && !!navigator.credentials &&
    typeof navigator.credentials.get === 'function' && window.isSecureContext !== false;

  // base64url (RFC 4648 §5, no padding) → ArrayBuffer.
  function toBuffer(s) {
    s = String(s).replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  // ArrayBuffer or view → base64url.
  function toBase64url(buf) {
    var bytes = new Uint8Array(buf.buffer ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : buf), bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  // A refusal from the server: its message is for the user.
  function Refusal(message, code, redirect) {
    this.message = message;
    this.code = code;
    this.redirect = redirect;
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf},
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) throw new Refusal(data.message || '', data.error || '', data.redirect || '');
        return data;
      });
    });
  }

  function descriptors(list) {
    return (list || []).map(function (c) {
      var d = {type: c.type, id: toBuffer(c.id)};
      if (c.transports) d.transports = c.transports;
      return d;
    });
  }

  // The server's options ({"publicKey": …}) with their binary fields decoded.
  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = toBuffer(pk.challenge);
    pk.user.id = toBuffer(pk.user.id);
    pk.excludeCredentials = descriptors(pk.excludeCredentials);
    return pk;
  }

  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = toBuffer(pk.challenge);
    if (pk.allowCredentials) pk.allowCredentials = descriptors(pk.allowCredentials);
    return pk;
  }

  // A PublicKeyCredential as JSON (WebAuthn Level 3 §5.1 toJSON()).
  function credentialJSON(cred) {
    var r = cred.response, out = {
      id: cred.id, rawId: toBase64url(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {clientDataJSON: toBase64url(r.clientDataJSON)}
    };
    if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
    if (r.attestationObject) {
      out.response.attestationObject = toBase64url(r.attestationObject);
      if (typeof r.getTransports === 'function') out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      if (r.userHandle && r.userHandle.byteLength) out.response.userHandle = toBase64url(r.userHandle);
    }
    return out;
  }

  function setup(box) {
    var kind = box.getAttribute('data-passkey');
    var start = box.querySelector('[data-passkey-start]');
    var errorBox = box.querySelector('#passkey-error');
    var csrf = box.getAttribute('data-csrf') || '';
    var conditional = null;
    if (!supported) {
      var note = box.querySelector('#passkey-unsupported');
      if (note) note.hidden = false;
      return;
    }
    box.hidden = false;
    Array.prototype.forEach.call(box.querySelectorAll('.passkey-js'), function (el) { el.hidden = false; });
    if (!start) return;

    // The endpoints, with the page's query (the flow, or where to return).
    var options, finish;
    if (kind === 'login') {
      var action = new URL(box.getAttribute('data-login'), location.href);
      options = action.pathname + '/passkey/options' + action.search;
      finish = action.pathname + '/passkey' + action.search;
    } else {
      options = box.getAttribute('data-options') + location.search;
      finish = box.getAttribute('data-finish') + location.search;
    }

    function message(name) { return box.getAttribute('data-msg-' + name) || ''; }
    function show(text) {
      errorBox.textContent = text;
      errorBox.hidden = false;
    }
    function clear() {
      errorBox.textContent = '';
      errorBox.hidden = true;
    }

    // explain turns a failure into what to tell the user ('' for nothing).
    function explain(e) {
      if (e instanceof Refusal) {
        if (e.redirect) {
          location.assign(e.redirect);
          return '';
        }
        return e.message || message('failed');
      }
      switch (e && e.name) {
        case 'AbortError': return ''; // the autofill request gave way to the button
        case 'NotAllowedError': return message('cancelled');
        case 'InvalidStateError': return message('exists');
      }
      return message('failed');
    }

    function ceremony(mediation, signal) {
      var begun, cred;
      return post(options, csrf, {}).then(function (b) {
        begun = b;
        if (signal && signal.aborted) throw new DOMException('superseded', 'AbortError');
        if (kind === 'register') return navigator.credentials.create({publicKey: creationOptions(begun.options)});
        var req = {publicKey: requestOptions(begun.options)};
        if (signal) req.signal = signal;
        if (mediation) req.mediation = mediation;
        return navigator.credentials.get(req);
      }).then(function (c) {
        if (!c) throw new Refusal(message('failed'), '', '');
        cred = c;
        var body = {ceremony: begun.ceremony, credential: credentialJSON(cred)};
        var name = box.querySelector('#passkey-new-name');
        if (name) body.name = name.value;
        var remember = document.getElementById('remember');
        if (kind === 'login') body.remember = !!(remember && remember.checked);
        return post(finish, csrf, body).catch(function (e) {
          // A passkey this site no longer knows: the authenticator may forget it.
          if (e instanceof Refusal && e.code === 'passkey_unknown' && typeof PublicKeyCredential.signalUnknownCredential === 'function') {
            PublicKeyCredential.signalUnknownCredential({rpId: begun.options.publicKey.rpId, credentialId: cred.id}).catch(function () {});
          }
          throw e;
        });
      }).then(function (done) {
        location.assign(box.getAttribute('data-next') || done.redirect);
      });
    }

    start.addEventListener('click', function () {
      if (conditional) conditional.abort();
      conditional = null;
      clear();
      start.disabled = true;
      start.setAttribute('aria-busy', 'true');
      ceremony('', null).catch(function (e) {
        var text = explain(e);
        if (text) show(text);
      }).then(function () {
        start.disabled = false;
        start.removeAttribute('aria-busy');
      });
    });

    // Conditional mediation: the email field offers the user's passkeys in
    // its autofill (the field has autocomplete="username webauthn").
    if (kind === 'login' && typeof PublicKeyCredential.isConditionalMediationAvailable === 'function') {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available || conditional) return;
        var ctl = new AbortController();
        conditional = ctl;
        ceremony('conditional', ctl.signal).catch(function (e) {
          // The user never asked: only the server's refusal of an answer
          // they picked from the autofill is worth telling.
          var text = !ctl.signal.aborted && e instanceof Refusal ? explain(e) : '';
          if (text) show(text);
        });
      }).catch(function () {});
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll('[data-passkey]'), setup);
})();
