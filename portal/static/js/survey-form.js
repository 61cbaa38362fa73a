/* Survey form, progressive enhancement: show-if questions appear and disappear in
   place as the resident answers (the server evaluates the same logic without
   JavaScript: "Update / show the next questions", and again on every submit).
   A hidden question's fieldset is disabled, so its inputs are not sent. */
(function () {
  "use strict";
  var NUMERIC = ["csat", "nps", "ces", "rating", "yes_no"];
  var forms = document.querySelectorAll("form[data-survey-form]");

  function answerOf(form, key) {
    // null: the question is not shown; otherwise the list of its values
    var nodes = form.querySelectorAll("[data-key]");
    var values = null;
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      if (node.getAttribute("data-key") !== key) { continue; }
      var numeric = NUMERIC.indexOf(node.getAttribute("data-type")) !== -1;
      values = values || [];
      if (node.tagName === "INPUT") {  // an earlier page's answer, carried along
        values.push(numeric ? Number(node.value) : node.value);
        continue;
      }
      if (node.hidden) { return null; }
      var inputs = node.querySelectorAll("input:checked");
      for (var j = 0; j < inputs.length; j++) {
        values.push(numeric ? Number(inputs[j].value) : inputs[j].value);
      }
    }
    return values;
  }

  function same(answer, value) {
    if (typeof answer === "number") { return typeof value === "number" && answer === value; }
    return String(answer) === String(value);
  }

  function holds(condition, answers) {
    if (!answers || answers.length === 0) { return false; }
    var op = condition.op, value = condition.value;
    return answers.some(function (a) {
      if (op === "equals") { return same(a, value); }
      if (op === "one_of") { return (value || []).some(function (v) { return same(a, v); }); }
      if (typeof a !== "number") { return false; }
      if (op === "at_most") { return a <= value; }
      if (op === "at_least") { return a >= value; }
      return false;
    });
  }

  function refresh(form) {
    var questions = form.querySelectorAll("fieldset[data-show-if]");
    for (var i = 0; i < questions.length; i++) {
      var question = questions[i], condition;
      try { condition = JSON.parse(question.getAttribute("data-show-if")); } catch (e) { continue; }
      var shown = holds(condition, answerOf(form, condition.question));
      question.hidden = !shown;
      question.disabled = !shown;
    }
  }

  Array.prototype.forEach.call(forms, function (form) {
    var updates = form.querySelectorAll("[data-survey-update]");
    for (var i = 0; i < updates.length; i++) { updates[i].hidden = true; }
    form.addEventListener("change", function () { refresh(form); });
    refresh(form);
  });
}());
