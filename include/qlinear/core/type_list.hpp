#pragma once
// A compile-time list of types, for the set of schemes a run-time-typed layer can hold.

#include <cstddef>
#include <type_traits>
#include <variant>

namespace qlinear {

/// A list of types. Usage: `using Mine = TypeList<Q4_K, Q6_K>;`
template <class... Ts>
struct TypeList {
  static constexpr std::size_t size = sizeof...(Ts);
};

namespace detail {
template <template <class> class Pred, class List, class Out = TypeList<>>
struct filter;
template <template <class> class Pred, class Out>
struct filter<Pred, TypeList<>, Out> {
  using type = Out;
};
template <template <class> class Pred, class T, class... Ts, class... Os>
struct filter<Pred, TypeList<T, Ts...>, TypeList<Os...>> {
  using type = typename filter<Pred, TypeList<Ts...>,
                               std::conditional_t<Pred<T>::value, TypeList<Os..., T>, TypeList<Os...>>>::type;
};
template <template <class> class F, class List>
struct map_to_variant;
template <template <class> class F, class... Ts>
struct map_to_variant<F, TypeList<Ts...>> {
  using type = std::variant<F<Ts>...>;
};
}  // namespace detail

/// The types of List for which Pred<T>::value holds.
template <template <class> class Pred, class List>
using filter_t = typename detail::filter<Pred, List>::type;

/// std::variant<F<T>...> for T in List.
template <template <class> class F, class List>
using variant_of_t = typename detail::map_to_variant<F, List>::type;

/// Calls f(std::type_identity<T>{}) for the first T in List with pred(T) true; returns whether one did.
template <class... Ts, class Pred, class F>
bool for_first(TypeList<Ts...>, Pred&& pred, F&& f) {
  return ((pred(std::type_identity<Ts>{}) ? (f(std::type_identity<Ts>{}), true) : false) || ...);
}

}  // namespace qlinear
