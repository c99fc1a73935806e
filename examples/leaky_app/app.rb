# frozen_string_literal: true

# A small request-processing loop with three kinds of memory behaviour:
#   * a planted leak: RequestHistory#remember keeps a copy of every 16th request;
#   * a bounded cache that churns: ResponseCache (LRU, fixed size);
#   * plenty of short-lived garbage: parsing, rendering, temporary arrays.
# Plain Ruby (3.1 standard library only). Runs for LEAKY_APP_DURATION seconds
# (default 30), at about LEAKY_APP_RATE requests per second (default 2000).
require_relative 'request_history'
require_relative 'response_cache'

Request = Struct.new(:id, :method, :path, :headers, :body)

# Short-lived garbage: a request parsed out of its raw text.
def parse_request(id, rng)
  raw = +"GET /items/#{rng.rand(100_000)}?page=#{rng.rand(50)} HTTP/1.1\r\n"
  raw << "Host: example.test\r\nUser-Agent: leaky/1.0\r\nX-Request-Id: #{id}\r\n\r\n"
  lines = raw.split("\r\n")
  method, path, = lines.first.split(' ')
  headers = lines.drop(1).reject(&:empty?).to_h { |l| l.split(': ', 2) }
  Request.new(id, method, path, headers, 'x' * (64 + rng.rand(192)))
end

# More garbage: a rendered page built from temporary strings and arrays.
def render(request)
  rows = Array.new(20) { |i| "<li>#{request.path} item #{i}</li>" }
  "<html><body><ul>#{rows.join}</ul></body></html>"
end

def main
  duration = Float(ENV.fetch('LEAKY_APP_DURATION', '30'))
  rate = Integer(ENV.fetch('LEAKY_APP_RATE', '2000'))
  rng = Random.new(42)
  history = RequestHistory.new
  cache = ResponseCache.new(2000)
  started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  deadline = started + duration
  id = 0
  while (now = Process.clock_gettime(Process::CLOCK_MONOTONIC)) < deadline
    # work in batches of 100, then sleep to hold the target rate
    100.times do
      id += 1
      request = parse_request(id, rng)
      history.remember(request) if (id % 16).zero?
      cache.fetch(request.path) { render(request) }
    end
    ahead = started + id.fdiv(rate) - now
    sleep(ahead) if ahead.positive?
  end
  warn "leaky_app: #{id} requests in #{duration}s; history holds #{history.size}, cache #{cache.size} (pid #{Process.pid})"
end

main if $PROGRAM_NAME == __FILE__
