-- wrk: POST a claim per request.
wrk.method = "POST"
wrk.body = '{"templateId":"concierge","ownerId":"bench"}'
wrk.headers["Content-Type"] = "application/json"
