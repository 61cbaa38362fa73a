"""The question page's "Your answer" section: a form for residents, a sign-in link for
visitors, and nothing for staff (they answer officially; an empty heading was shown)."""

from __future__ import annotations

import pytest

from tests.community_factories import question


@pytest.fixture
def asked(make_user):
    return question(make_user("resident"), services=("library-loans",))


def test_residents_get_the_form_and_visitors_a_sign_in_link(client, resident_client, asked):
    page = resident_client.get(f"/community/questions/{asked.id}").get_data(as_text=True)
    assert 'id="answer-title"' in page and 'name="body"' in page
    visitor = client.get(f"/community/questions/{asked.id}").get_data(as_text=True)
    assert 'id="answer-title"' in visitor and "/account/login?next=" in visitor


def test_staff_see_no_empty_answer_section(staff_client, manager_client, asked):
    for signed_in in (staff_client, manager_client):
        response = signed_in.get(f"/community/questions/{asked.id}")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert 'id="answer-title"' not in page and "/account/login?next=" not in page
        assert 'id="official-answer-title"' in page  # they answer here instead


def test_the_follow_button_stays_in_the_facts_line(resident_client, asked):
    # a <form> inside a <p> closes the paragraph: the button fell out of the line
    page = resident_client.get(f"/community/questions/{asked.id}").get_data(as_text=True)
    start = page.index('class="community-facts hint"')
    line = page[start:page.index('class="community-answers"', start)]
    assert f'/community/questions/{asked.id}/follow' in line
    assert page[:start].rstrip().endswith("<div")
