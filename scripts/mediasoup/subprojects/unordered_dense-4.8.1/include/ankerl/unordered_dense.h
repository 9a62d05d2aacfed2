// Minimal stand-in for ankerl::unordered_dense (Debian has no package for it),
// written for building mediasoup-worker against Debian libraries.
//
// It only offers what the mediasoup worker uses: unordered_dense::map, ::set
// and ::hash, implemented with the standard unordered containers. The
// standard containers keep references stable across rehashing and erase, so
// they are a safe (if slower) replacement for the vector-backed originals.
#ifndef ANKERL_UNORDERED_DENSE_STD_SHIM_H
#define ANKERL_UNORDERED_DENSE_STD_SHIM_H

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace ankerl
{
	namespace unordered_dense
	{
		template<class T, class Enable = void>
		struct hash
		{
			std::uint64_t operator()(const T& value) const noexcept(noexcept(std::hash<T>{}(value)))
			{
				return static_cast<std::uint64_t>(std::hash<T>{}(value));
			}
		};

		template<
		  class Key,
		  class T,
		  class Hash      = hash<Key>,
		  class KeyEqual  = std::equal_to<Key>,
		  class Allocator = std::allocator<std::pair<const Key, T>>>
		using map = std::unordered_map<Key, T, Hash, KeyEqual, Allocator>;

		template<
		  class Key,
		  class Hash      = hash<Key>,
		  class KeyEqual  = std::equal_to<Key>,
		  class Allocator = std::allocator<Key>>
		using set = std::unordered_set<Key, Hash, KeyEqual, Allocator>;
	} // namespace unordered_dense
} // namespace ankerl

#endif
