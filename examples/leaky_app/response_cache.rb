# frozen_string_literal: true

# A bounded LRU cache of rendered responses: it fills up quickly and then
# churns (every miss evicts the least recently used entry), so its retained
# size stays constant. Not a leak; rmp-report must not rank it above one.
class ResponseCache
  def initialize(capacity)
    @capacity = capacity
    @entries = {} # Hash keeps insertion order: first key = least recently used
  end

  def fetch(key)
    if @entries.key?(key)
      value = @entries.delete(key)
      @entries[key] = value
      return value
    end
    value = yield
    @entries[key] = value
    @entries.shift while @entries.size > @capacity
    value
  end

  def size
    @entries.size
  end
end
