# frozen_string_literal: true

# THE PLANTED LEAK. RequestHistory keeps a copy of every sampled request
# "for debugging" and never evicts anything, so its retained memory grows
# for as long as the process runs. rmp-report leaks should name
# RequestHistory#remember as suspect #1.
class RequestHistory
  # A request as the history keeps it: detached copies of the request's parts.
  Entry = Struct.new(:id, :method, :path, :headers, :body, :received_at)

  def initialize
    @entries = {}
  end

  def remember(request)
    @entries[request.id] = Entry.new(request.id, request.method.dup, request.path.dup,
                                     request.headers.dup, request.body.dup, Time.now)
  end

  def size
    @entries.size
  end
end
