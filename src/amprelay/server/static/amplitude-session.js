/*!
 * amprelay Amplitude Session Plugin for analytics.js 2.0 (@segment/analytics-next).
 *
 * Keeps an Amplitude session id on the page and attaches it to every event as
 * integrations["Actions Amplitude"].session_id, as Segment's Amplitude (Actions) "Session Plugin"
 * does:
 *  - the session id is the session's start time in epoch milliseconds;
 *  - it is kept in localStorage under "analytics_session_id", with the time of the last event in
 *    "analytics_session_id.last_access";
 *  - a session ends after `sessionLength` ms without events (default 30 minutes);
 *  - with `allowSessionTracking`, a `sessionStartEvent` ("session_started") track event is sent when
 *    a session starts and a `sessionEndEvent` ("session_ended") one, carrying the old session id,
 *    when an expired session is replaced;
 *  - events with integrations.All === false are left alone unless "Actions Amplitude" is truthy.
 *
 * Usage (after analytics-next is loaded):
 *   analytics.register(AmprelayAmplitudeSession.plugin({ sessionLength: 30 * 60 * 1000 }))
 */
(function (root) {
  'use strict'

  var ID_KEY = 'analytics_session_id'
  var LAST_KEY = 'analytics_session_id.last_access'
  var THIRTY_MINUTES = 30 * 60 * 1000
  var DESTINATION = 'Actions Amplitude'

  function memoryStorage() {
    var data = {}
    return {
      getItem: function (k) { return Object.prototype.hasOwnProperty.call(data, k) ? data[k] : null },
      setItem: function (k, v) { data[k] = String(v) }
    }
  }

  function pickStorage() {
    try {
      var ls = root.localStorage
      ls.setItem('__amprelay_probe', '1')
      ls.removeItem('__amprelay_probe')
      return ls
    } catch (e) {
      return memoryStorage()
    }
  }

  function readNumber(storage, key) {
    var raw = storage.getItem(key)
    if (raw === null || raw === undefined) return null
    var n = parseInt(raw, 10)
    return isNaN(n) ? null : n
  }

  function plugin(options) {
    options = options || {}
    var sessionLength = typeof options.sessionLength === 'number' && options.sessionLength > 0
      ? options.sessionLength : THIRTY_MINUTES
    var tracking = options.allowSessionTracking === true
    var startName = options.sessionStartEvent || 'session_started'
    var endName = options.sessionEndEvent || 'session_ended'
    var now = options.now || function () { return new Date().getTime() }
    var storage = options.storage || pickStorage()
    var analytics = null
    var pendingEnd = [] // session ids of ended sessions whose end event is on its way

    function currentSession() {
      var t = now()
      var id = readNumber(storage, ID_KEY)
      var last = readNumber(storage, LAST_KEY)
      var stale = id === null || last === null || t - last >= sessionLength
      if (stale) {
        if (tracking && id !== null && last !== null) {
          pendingEnd.push(id)
          send(endName)
        }
        id = t
        storage.setItem(ID_KEY, String(id))
        if (tracking) send(startName)
      } else {
        storage.setItem(ID_KEY, String(id)) // keep every storage medium in sync
      }
      storage.setItem(LAST_KEY, String(t))
      return id
    }

    function send(name) {
      var a = analytics || root.analytics
      if (!a || typeof a.track !== 'function') return
      try {
        var p = a.track(name, {})
        if (p && typeof p.then === 'function') p.then(function () {}, function () {})
      } catch (e) { /* never break the page */ }
    }

    function enrich(ctx) {
      var event = ctx.event
      var id
      if (event.type === 'track' && event.event === endName && pendingEnd.length) {
        id = pendingEnd.shift() // the end event belongs to the session it ends
      } else {
        id = currentSession()
      }
      var integrations = event.integrations || {}
      if (integrations.All !== false || integrations[DESTINATION]) {
        ctx.updateEvent('integrations.' + DESTINATION, {})
        ctx.updateEvent('integrations.' + DESTINATION + '.session_id', id)
      }
      return ctx
    }

    return {
      name: 'Amplitude Session (amprelay)',
      type: 'enrichment',
      version: '1.0.0',
      isLoaded: function () { return true },
      load: function (_ctx, instance) { analytics = instance || null; return Promise.resolve() },
      track: enrich,
      identify: enrich,
      page: enrich,
      group: enrich,
      alias: enrich,
      screen: enrich
    }
  }

  var api = { plugin: plugin, STORAGE_KEY: ID_KEY, LAST_ACCESS_KEY: LAST_KEY }
  if (typeof module === 'object' && module.exports) module.exports = api
  root.AmprelayAmplitudeSession = api
})(typeof window !== 'undefined' ? window : globalThis)
