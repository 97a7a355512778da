/*!
 * amprelay Amplitude Session Plugin for analytics.js 2.0 (@segment/analytics-next).
 *
 * Does what the "Session Plugin" (sessionId action) of Segment's Amplitude (Actions) destination
 * does, event for event, so Amplitude shows the same sessions as with Segment:
 *  - it enriches track, identify, group, page and alias calls (not screen) with
 *    integrations["Actions Amplitude"].session_id, the session's start time in epoch milliseconds;
 *  - the id is kept under "analytics_session_id", the time of the last event under
 *    "analytics_session_id.last_access", in analytics.js's own storage (`analytics.storage`: cookie,
 *    localStorage or memory, as the page's analytics.js is set up) or, without it, in localStorage
 *    (memory when localStorage is unavailable);
 *  - a session ends `sessionLength` ms after the last event (default 30 minutes when absent; 0 or
 *    less makes every event start a new session);
 *  - with `allowSessionTracking`, a `sessionEndEvent` ("session_ended") and a `sessionStartEvent`
 *    ("session_started") track event are sent when a session starts. As in Segment's plugin the end
 *    event is also sent on a first visit, and both carry the NEW session's id;
 *    `correctSessionEnd: true` instead sends the end event only when a session really ended,
 *    carrying the id of the session it ends;
 *  - events with integrations.All === false are left alone unless "Actions Amplitude" is truthy.
 * Where it differs on purpose: a stored value that is not a number starts a new session, and the
 * plugin's own session events never start more of them (with sessionLength 0, Segment's loops).
 *
 * Loaded by analytics.js itself from the relay's CDN settings (`remotePlugins`, library
 * `amprelayAmplitudeSessionDestination`), or registered by hand:
 *   analytics.register(AmprelayAmplitudeSession.plugin({ sessionLength: 30 * 60 * 1000 }))
 */
(function (root) {
  'use strict'

  var ID_KEY = 'analytics_session_id'
  var LAST_KEY = 'analytics_session_id.last_access'
  var THIRTY_MINUTES = 30 * 60 * 1000
  var DESTINATION = 'Actions Amplitude'

  // get/set of numbers over a Web Storage (the reference's fallback), or memory without one
  function webStorage() {
    var data = {}
    var ls = null
    try {
      ls = root.localStorage
      ls.setItem('__amprelay_probe', '1')
      ls.removeItem('__amprelay_probe')
    } catch (e) {
      ls = null
    }
    return {
      get: function (k) {
        if (ls) return ls.getItem(k)
        return Object.prototype.hasOwnProperty.call(data, k) ? data[k] : null
      },
      set: function (k, v) {
        if (ls) ls.setItem(k, String(v))
        else data[k] = String(v)
      }
    }
  }

  function asNumber(raw) {
    if (typeof raw === 'number') return isFinite(raw) ? raw : null
    if (typeof raw !== 'string') return null
    var n = parseInt(raw, 10)
    return isNaN(n) ? null : n
  }

  function plugin(options) {
    options = options || {}
    var sessionLength = typeof options.sessionLength === 'number' && !isNaN(options.sessionLength)
      ? options.sessionLength : THIRTY_MINUTES
    var tracking = options.allowSessionTracking === true
    var correctEnd = options.correctSessionEnd === true
    var startName = options.sessionStartEvent || 'session_started'
    var endName = options.sessionEndEvent || 'session_ended'
    var now = options.now || function () { return new Date().getTime() }
    var analytics = null
    var fallback = null
    var ownEvents = {} // name -> how many of the plugin's own session events are on their way
    var endedIds = [] // correctSessionEnd: ids of ended sessions whose end event is on its way

    function storage() {
      if (options.storage) return options.storage
      var a = analytics || root.analytics
      if (a && a.storage && typeof a.storage.get === 'function') return a.storage
      return fallback || (fallback = webStorage())
    }

    function send(name) {
      var a = analytics || root.analytics
      if (!a || typeof a.track !== 'function') return
      ownEvents[name] = (ownEvents[name] || 0) + 1
      try {
        var p = a.track(name, {})
        if (p && typeof p.then === 'function') p.then(function () {}, function () {})
      } catch (e) {
        ownEvents[name] -= 1 // never break the page
      }
    }

    function isOwn(event) {
      if (event.type !== 'track' || !ownEvents[event.event]) return false
      ownEvents[event.event] -= 1
      return true
    }

    function sessionFor(event) {
      var own = isOwn(event)
      if (own && correctEnd && event.event === endName && endedIds.length) return endedIds.shift()
      var store = storage()
      var t = now()
      var id = asNumber(store.get(ID_KEY))
      var last = asNumber(store.get(LAST_KEY))
      var expired = t - (last === null ? 0 : last) >= sessionLength
      var stale = id === null || last === null || expired
      if (tracking && !own && expired) {
        if (!correctEnd) send(endName)
        else if (id !== null && last !== null) { endedIds.push(id); send(endName) }
      }
      if (stale) id = t
      store.set(ID_KEY, id) // stored even when kept, so every storage medium stays in sync
      if (stale && tracking && !own) send(startName)
      store.set(LAST_KEY, t)
      return id
    }

    function enrich(ctx) {
      var event = ctx.event
      var id = sessionFor(event)
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
      version: '2.0.0',
      isLoaded: function () { return true },
      load: function (_ctx, instance) { analytics = instance || null; return Promise.resolve() },
      track: enrich,
      identify: enrich,
      page: enrich,
      group: enrich,
      alias: enrich
    }
  }

  // analytics.js's remote-plugin loader calls window[libraryName](settings) for a list of plugins
  function destination(settings) {
    return [plugin(settings || {})]
  }

  var api = { plugin: plugin, destination: destination, STORAGE_KEY: ID_KEY, LAST_ACCESS_KEY: LAST_KEY }
  if (typeof module === 'object' && module.exports) module.exports = api
  root.AmprelayAmplitudeSession = api
  root.amprelayAmplitudeSessionDestination = destination
})(typeof window !== 'undefined' ? window : globalThis)
