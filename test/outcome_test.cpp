#define BOOST_TEST_MODULE outcome
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <exception>
#include <memory>

BOOST_AUTO_TEST_CASE(outcome_holds_a_value_or_a_failure) {
    batch::outcome<int> ok = 3;
    BOOST_TEST(ok.has_value());
    BOOST_TEST(ok.value() == 3);
    BOOST_TEST(!ok.error());

    batch::outcome<int> failed = std::make_exception_ptr(test::boom("no"));
    BOOST_TEST(!failed.has_value());
    BOOST_CHECK_THROW(std::rethrow_exception(failed.error()), test::boom);

    batch::outcome<void> done;
    BOOST_TEST(done.has_value());

    batch::outcome<std::unique_ptr<int>> owning = std::make_unique<int>(4);
    auto p = std::move(owning).value();
    BOOST_TEST(*p == 4);
}
